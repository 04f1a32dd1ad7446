// Search: customers, contacts and shipments by name, pinyin, phone or reference.

import { call } from "../api.js";
import { go, h, link } from "../dom.js";
import { t } from "../i18n.js";

async function search(view, q) {
  if (!q) return go("/");
  const page = await call("GET", "/v1/search", { query: { q } });
  view.replaceChildren(
    h("h1", {}, t("search.title", { q })),
    page.items.length === 0
      ? h("p", { className: "quiet" }, t("search.none", { q }))
      : h(
          "ul",
          { className: "hits" },
          page.items.map((hit) =>
            h(
              "li",
              {},
              h("span", { className: "tag" }, t(`search.kind.${hit.kind}`)),
              " ",
              link(hit.shipment_id ? `/console/shipments/${hit.shipment_id}` : `/console/customers/${hit.relationship_id}`, hit.label),
              hit.label === hit.relationship_name ? null : h("span", { className: "quiet" }, ` · ${hit.relationship_name}`),
              h("span", { className: "quiet" }, ` · ${hit.branch} · ${hit.matched}`),
            ),
          ),
        ),
  );
}

export const routes = [[/^\/console\/search$/, (view) => search(view, new URLSearchParams(location.search).get("q") || "")]];
export const nav = [];
