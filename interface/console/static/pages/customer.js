// A customer: account status, contacts, the interaction timeline, and the commands staff
// give on it (each a `commandForm`: If-Match, Idempotency-Key, read-your-writes).

import { call } from "../api.js";
import { h, when } from "../dom.js";
import { commandForm } from "../forms.js";
import { t, tOr } from "../i18n.js";

const CHANNELS = ["visit", "call", "email", "meeting", "message", "portal"];
const DIRECTIONS = ["outbound", "inbound"];

async function customer(view, id) {
  // What the page shows, and the version the forms send as If-Match.
  let shown = null;
  const statusBox = h("section", { id: "status" });
  const contactsBox = h("section", { id: "contacts" });
  const timelineBox = h("section", { id: "timeline" });
  const title = h("h1", {});

  async function load(minPosition) {
    const query = minPosition === undefined ? {} : { min_position: minPosition };
    const [status, contacts, timeline] = await Promise.all([
      call("GET", `/v1/relationships/${id}`, { query }),
      call("GET", `/v1/relationships/${id}/contacts`, { query }),
      call("GET", `/v1/relationships/${id}/interactions`, { query }),
    ]);
    shown = { status, contacts: contacts.items };
    title.textContent = status.name;
    const yesNo = (value) => (value ? t("customer.yes") : t("customer.no"));
    const facts = [
      ["customer.kind", tOr(`kind.${status.kind}`, status.kind)],
      ["customer.lifecycle", tOr(`lifecycle.${status.lifecycle}`, status.lifecycle)],
      ["customer.branch", status.branch],
      ["customer.keyAccount", yesNo(status.key_account)],
      ["customer.fieldRep", status.field_rep || "—"],
      ["customer.officeRep", status.office_rep || "—"],
      ["customer.lastInteraction", when(status.last_interaction_at)],
      ["customer.interactions90", status.interactions_last_90_days],
      ["customer.openCases", status.open_cases],
      ["customer.overdueFollowUps", status.overdue_follow_ups],
      ["customer.version", status.version],
    ];
    statusBox.replaceChildren(
      h("h2", {}, t("customer.status")),
      h("dl", {}, facts.map(([key, value]) => [h("dt", {}, t(key)), h("dd", { "data-field": key }, String(value))])),
    );
    contactsBox.replaceChildren(
      h("h2", {}, t("customer.contacts")),
      contacts.items.length === 0
        ? h("p", { className: "quiet" }, t("customer.noContacts"))
        : h(
            "ul",
            {},
            contacts.items.map((c) =>
              h("li", {}, h("strong", {}, c.name), c.title ? ` · ${c.title}` : "", c.phone ? ` · ${c.phone}` : "", c.email ? ` · ${c.email}` : ""),
            ),
          ),
    );
    timelineBox.replaceChildren(
      h("h2", {}, t("customer.timeline")),
      timeline.items.length === 0
        ? h("p", { className: "quiet" }, t("customer.noTimeline"))
        : h(
            "ol",
            { className: "timeline" },
            timeline.items.map((entry) =>
              h(
                "li",
                { "data-entry": entry.entry_id },
                h("time", { dateTime: entry.occurred_at }, when(entry.occurred_at)),
                " ",
                h(
                  "span",
                  { className: "tag" },
                  entry.kind === "interaction"
                    ? `${tOr(`channel.${entry.channel}`, entry.channel)} · ${tOr(`direction.${entry.direction}`, entry.direction)}`
                    : t("care", { kind: entry.care_kind }),
                ),
                " ",
                h("span", { className: "who" }, entry.staff_name || entry.staff),
                entry.contact_name ? h("span", { className: "quiet" }, ` → ${entry.contact_name}`) : null,
                h("p", { className: "summary" }, entry.summary),
              ),
            ),
          ),
    );
    fillContacts();
  }

  const channel = h("select", { name: "channel", id: "channel" }, CHANNELS.map((c) => h("option", { value: c }, t(`channel.${c}`))));
  const direction = h("select", { name: "direction", id: "direction" }, DIRECTIONS.map((d) => h("option", { value: d }, t(`direction.${d}`))));
  const contact = h("select", { name: "contact_id", id: "contact" });
  const summary = h("textarea", { name: "summary", id: "summary", rows: 3, maxLength: 2000 });

  function fillContacts() {
    const chosen = contact.value;
    contact.replaceChildren(
      h("option", { value: "" }, t("log.noContact")),
      ...shown.contacts.filter((c) => !c.removed).map((c) => h("option", { value: c.contact_id }, c.name)),
    );
    contact.value = chosen;
  }

  const logForm = commandForm({
    id: "log-interaction",
    messageId: "log-message",
    title: t("log.title"),
    submit: t("log.submit"),
    fields: [
      ["channel", t("log.channel"), channel],
      ["direction", t("log.direction"), direction],
      ["contact", t("log.contact"), contact],
      ["summary", t("log.summary"), summary],
    ],
    body: () => {
      const body = { channel: channel.value, direction: direction.value, summary: summary.value.trim() };
      if (contact.value) body.contact_id = contact.value;
      return body.summary ? body : t("log.summaryRequired");
    },
    version: () => shown.status.version,
    send: (body, headers) => call("POST", `/v1/relationships/${id}/interactions`, { body, headers }),
    done: (accepted) => load(accepted.position), // read your own write
    review: () => load(),
  });

  await load();
  view.replaceChildren(title, h("div", { className: "columns" }, h("div", {}, statusBox, contactsBox), h("div", {}, logForm, timelineBox)));
}

export const routes = [[/^\/console\/customers\/([0-9a-fA-F-]{36})$/, (view, id) => customer(view, id)]];
export const nav = [];
