// A customer user's own pages (自我服务): its shipments and where they stand, its service
// cases, invoices and proofs of delivery to download, a delivered shipment's rating and a
// quote request. Only for a customer user (me.customer_id): its home replaces "My day".
// Every command is a `commandForm` (Idempotency-Key, If-Match where the route takes it,
// read-your-writes with min_position).

import { call, fetchRaw } from "../api.js";
import { day, h, link, money, problemText, table, when } from "../dom.js";
import { commandForm } from "../forms.js";
import { t, tOr } from "../i18n.js";

const CASE_KINDS = ["inquiry", "request", "complaint"];
const CURRENCIES = ["CNY", "USD", "EUR"];
const SHIPMENT = (id) => `/v1/self-service/shipments/${id}`;

export const audience = (me) => Boolean(me && me.customer_id);

const status = (value) => h("span", { className: "tag" }, tOr(`self.status.${value}`, value));

/**
 * A file of the API: fetched in the session (its refusals told as the API's), then handed
 * to the browser as an object URL, under the name it is saved as.
 */
export function downloadButton(path, fileName, label, attributes = {}) {
  const said = h("span", { role: "status", className: "error" });
  const button = h(
    "button",
    {
      type: "button",
      ...attributes,
      onclick: async () => {
        said.textContent = "";
        try {
          const response = await fetchRaw(path);
          const url = URL.createObjectURL(await response.blob());
          const anchor = h("a", { href: url, download: fileName, hidden: true });
          document.body.append(anchor);
          anchor.click();
          anchor.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60_000);
        } catch (error) {
          said.textContent = problemText(error);
        }
      },
    },
    label,
  );
  return h("span", { className: "download" }, button, said);
}

// --- the home: shipments, cases, a case to open, a quote to request -------------------------

async function home(view) {
  const shipmentsBox = h("section", { id: "my-shipments" });
  const casesBox = h("section", { id: "my-cases" });
  let shipments = [];

  async function load(minPosition) {
    const query = minPosition === undefined ? {} : { min_position: minPosition };
    const [shipmentPage, casePage] = await Promise.all([
      call("GET", "/v1/self-service/shipments", { query }),
      call("GET", "/v1/self-service/cases", { query }),
    ]);
    shipments = shipmentPage.items;
    shipmentsBox.replaceChildren(
      h("h2", {}, t("self.shipments")),
      shipments.length === 0
        ? h("p", { className: "quiet" }, t("self.noShipments"))
        : table(
            [
              ["self.reference", (s) => link(`/console/my/shipments/${s.shipment_id}`, s.reference)],
              ["self.lane", (s) => `${s.origin} → ${s.destination}`],
              ["self.status", (s) => status(s.status)],
              ["self.bookedAt", (s) => day(s.booked_at)],
              ["self.deliveredAt", (s) => day(s.delivered_at)],
              ["self.openIncidents", (s) => String(s.open_incidents)],
            ],
            shipments,
          ),
    );
    casesBox.replaceChildren(
      h("h2", {}, t("self.cases")),
      casePage.items.length === 0
        ? h("p", { className: "quiet" }, t("self.noCases"))
        : table(
            [
              ["self.subject", (c) => c.subject],
              ["self.caseKind", (c) => tOr(`self.caseKind.${c.kind}`, c.kind)],
              ["self.status", (c) => status(c.status)],
              ["self.shipment", (c) => shipments.find((s) => s.shipment_id === c.shipment_id)?.reference || "—"],
              ["self.openedAt", (c) => when(c.opened_at)],
            ],
            casePage.items,
            { id: "case-list" },
          ),
    );
    fillShipments();
  }

  // Open a service case (or a complaint), about one of the shipments or none.
  const kind = h("select", { id: "case-kind", name: "kind" }, CASE_KINDS.map((k) => h("option", { value: k }, t(`self.caseKind.${k}`))));
  const about = h("select", { id: "case-shipment", name: "shipment_id" });
  const subject = h("input", { id: "case-subject", name: "subject", maxLength: 200 });
  const description = h("textarea", { id: "case-description", name: "description", rows: 3, maxLength: 2000 });
  function fillShipments() {
    const chosen = about.value;
    about.replaceChildren(
      h("option", { value: "" }, t("self.noShipment")),
      ...shipments.map((s) => h("option", { value: s.shipment_id }, s.reference)),
    );
    about.value = chosen;
  }
  const caseForm = commandForm({
    id: "open-case",
    title: t("self.openCase"),
    submit: t("self.openCaseSubmit"),
    doneText: t("self.caseOpened"),
    fields: [
      ["case-kind", t("self.caseKind"), kind],
      ["case-shipment", t("self.shipment"), about],
      ["case-subject", t("self.subject"), subject],
      ["case-description", t("self.description"), description],
    ],
    body: () => {
      const body = { kind: kind.value, subject: subject.value.trim(), description: description.value.trim() };
      if (about.value) body.shipment_id = about.value;
      return body.subject && body.description ? body : t("self.caseRequired");
    },
    send: (body, headers) => call("POST", "/v1/self-service/cases", { body, headers }),
    done: (accepted) => load(accepted.position),
  });

  // Request a quote for one of the catalogue's offerings.
  const offerings = await call("GET", "/v1/self-service/offerings");
  const offering = h(
    "select",
    { id: "quote-offering", name: "offering_id" },
    offerings.items.map((o) => h("option", { value: o.offering_id }, o.label)),
  );
  const quoteSubject = h("input", { id: "quote-subject", name: "subject", maxLength: 200 });
  const value = h("input", { id: "quote-value", name: "indicative_value", inputMode: "decimal" });
  const currency = h("select", { id: "quote-currency", name: "currency" }, CURRENCIES.map((c) => h("option", { value: c }, c)));
  const quoteForm = commandForm({
    id: "request-quote",
    title: t("self.quote"),
    submit: t("self.quoteSubmit"),
    doneText: t("self.quoteRequested"),
    fields: [
      ["quote-offering", t("self.offering"), offering],
      ["quote-subject", t("self.quoteSubject"), quoteSubject],
      ["quote-value", t("self.value"), value],
      ["quote-currency", t("self.currency"), currency],
    ],
    body: () => {
      const body = {
        offering_id: offering.value,
        subject: quoteSubject.value.trim(),
        indicative_value: value.value.trim(),
        currency: currency.value,
      };
      if (!body.offering_id) return t("self.noOfferings");
      return body.subject && /^\d+(\.\d+)?$/.test(body.indicative_value) ? body : t("self.quoteRequired");
    },
    send: (body, headers) => call("POST", "/v1/self-service/quote-requests", { body, headers }),
    done: async () => {},
  });

  await load();
  const me = await call("GET", "/v1/staff/me");
  view.replaceChildren(
    h("h1", {}, t("self.title")),
    h("p", { className: "quiet" }, t("self.signedInAs", { name: me.name })),
    shipmentsBox,
    h("div", { className: "columns self-service" }, h("div", {}, caseForm, quoteForm), casesBox),
  );
}

// --- one shipment: the chain's public status, documents, a rating ---------------------------

async function shipment(view, id) {
  let shown = null;
  const title = h("h1", {});
  const factsBox = h("section", { id: "shipment-facts" });
  const chainBox = h("section", { id: "shipment-chain" });
  const incidentsBox = h("section", { id: "shipment-incidents" });
  const documentsBox = h("section", { id: "shipment-documents" });
  const ratingBox = h("section", { id: "shipment-rating" });

  async function load(minPosition) {
    const query = minPosition === undefined ? {} : { min_position: minPosition };
    const [detail, invoices] = await Promise.all([
      call("GET", SHIPMENT(id), { query }),
      call("GET", `${SHIPMENT(id)}/invoices`),
    ]);
    let pod = null;
    if (detail.status === "delivered") pod = await call("GET", `${SHIPMENT(id)}/proof-of-delivery`, { query });
    shown = detail;
    title.textContent = detail.reference;
    const holder = detail.current_holder;
    const facts = [
      ["self.lane", `${detail.origin} → ${detail.destination}`],
      ["self.status", tOr(`self.status.${detail.status}`, detail.status)],
      ["self.holder", holder ? `${holder.party.name || tOr(`self.party.${holder.party.kind}`, holder.party.kind)} (${t("self.linkNo", { n: holder.link_sequence })})` : "—"],
      ["self.cargo", detail.cargo ? detail.cargo.description : "—"],
      ["self.deliveredAt", when(detail.delivered_at)],
    ];
    factsBox.replaceChildren(
      h("dl", {}, facts.map(([key, value]) => [h("dt", {}, t(key)), h("dd", { "data-field": key }, String(value))])),
    );
    chainBox.replaceChildren(
      h("h2", {}, t("self.chain")),
      table(
        [
          ["self.linkSeq", (l) => String(l.sequence)],
          ["self.function", (l) => tOr(`self.function.${l.function}`, l.function)],
          ["self.party", (l) => (l.party ? l.party.name || tOr(`self.party.${l.party.kind}`, l.party.kind) : "—")],
          ["self.status", (l) => status(l.status)],
          ["self.planned", (l) => `${day(l.planned_start)} – ${day(l.planned_end)}`],
          ["self.handedIn", (l) => (l.handover_in ? `${when(l.handover_in.at)} · ${tOr(`self.condition.${l.handover_in.condition}`, l.handover_in.condition)}` : "—")],
        ],
        detail.links,
        { id: "chain-links" },
      ),
    );
    incidentsBox.replaceChildren(
      h("h2", {}, t("self.incidents")),
      detail.incidents.length === 0
        ? h("p", { className: "quiet" }, t("self.noIncidents"))
        : h(
            "ul",
            {},
            detail.incidents.map((i) =>
              h("li", {}, h("time", { dateTime: i.discovered_at }, when(i.discovered_at)), " ", h("span", { className: "tag" }, i.kind), " ", i.description, " · ", i.resolved ? t("self.resolved") : t("self.unresolved")),
            ),
          ),
    );
    const documents = [];
    for (const invoice of invoices) {
      documents.push(
        h(
          "li",
          {},
          `${t("self.invoice")} ${invoice.invoice_number} · ${money(invoice.amount, invoice.currency)} · ${day(invoice.invoiced_at)} `,
          downloadButton(
            `${SHIPMENT(id)}/invoices/${encodeURIComponent(invoice.invoice_number)}`,
            `invoice-${invoice.invoice_number.replace(/[^A-Za-z0-9._-]/g, "_")}.csv`,
            t("self.download"),
            { "aria-label": `${t("self.download")} ${invoice.invoice_number}` },
          ),
        ),
      );
    }
    if (pod) {
      documents.push(
        h(
          "li",
          { id: "proof-of-delivery" },
          `${t("self.pod")} ${pod.reference || ""} · ${when(pod.delivered_at)} · ${pod.signed_by} · ${tOr(`self.condition.${pod.condition}`, pod.condition)}`,
          pod.remarks ? h("span", { className: "quiet" }, ` — ${pod.remarks}`) : null,
          h(
            "ul",
            {},
            pod.attachments.map((file) =>
              h(
                "li",
                {},
                `${file.file_name} `,
                downloadButton(`${SHIPMENT(id)}/proof-of-delivery/${file.sha256}`, file.file_name, t("self.download"), {
                  "aria-label": `${t("self.download")} ${file.file_name}`,
                }),
              ),
            ),
          ),
        ),
      );
    }
    documentsBox.replaceChildren(
      h("h2", {}, t("self.documents")),
      documents.length === 0 ? h("p", { className: "quiet" }, t("self.noDocuments")) : h("ul", {}, documents),
    );
    const rated = detail.customer_rating;
    ratingBox.replaceChildren(
      ...(rated
        ? [h("h2", {}, t("self.rating")), h("p", { id: "rated" }, t("self.rated", { rating: rated.rating }), rated.comment ? ` — ${rated.comment}` : "")]
        : detail.status === "delivered"
          ? [rateForm]
          : []),
    );
  }

  const rating = h("select", { id: "rating", name: "rating" }, [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, "★".repeat(n))));
  const comment = h("textarea", { id: "rating-comment", name: "comment", rows: 2, maxLength: 2000 });
  const rateForm = commandForm({
    id: "rate-shipment",
    title: t("self.rate"),
    submit: t("self.rateSubmit"),
    doneText: t("self.rateDone"),
    fields: [
      ["rating", t("self.rating"), rating],
      ["rating-comment", t("self.comment"), comment],
    ],
    body: () => {
      const body = { rating: Number(rating.value) };
      if (comment.value.trim()) body.comment = comment.value.trim();
      return body;
    },
    version: () => shown.version,
    staleText: t("self.stale"),
    send: (body, headers) => call("POST", `${SHIPMENT(id)}/rating`, { body, headers }),
    done: (accepted) => load(accepted.position),
    review: (position) => load(position),
  });

  await load();
  view.replaceChildren(
    h("p", {}, link("/", `← ${t("self.title")}`)),
    title,
    factsBox,
    chainBox,
    incidentsBox,
    h("div", { className: "columns self-service" }, documentsBox, ratingBox),
  );
}

export const routes = [
  [/^\/$/, (view) => home(view)],
  [/^\/console\/my\/shipments\/([0-9a-fA-F-]{36})$/, (view, id) => shipment(view, id)],
];
export const nav = [{ href: "/", key: "nav.selfHome", show: audience }];
