// A partner user's own pages (协同: an airline, a trucker, a warehouse): the shipments whose
// links its partner runs, those links, the handovers into and out of them to sign, and the
// responsibility proposed to it to accept or dispute. Only for a partner user
// (me.partner_id): its home replaces "My day". Every command is a `commandForm` (If-Match
// of the shipment's version, Idempotency-Key, read-your-writes with min_position).

import { call } from "../api.js";
import { day, h, link, table, when } from "../dom.js";
import { commandForm } from "../forms.js";
import { t, tOr } from "../i18n.js";

const CONDITIONS = ["good", "damaged", "short"];

export const audience = (me) => Boolean(me && me.partner_id);

const tag = (value) => h("span", { className: "tag" }, tOr(`self.status.${value}`, value));
const fn = (value) => tOr(`self.function.${value}`, value);

async function home(view) {
  const [me, page] = await Promise.all([call("GET", "/v1/staff/me"), call("GET", "/v1/shipments")]);
  view.replaceChildren(
    h("h1", {}, t("partner.title")),
    h("p", { className: "quiet" }, t("self.signedInAs", { name: me.name })),
    page.items.length === 0
      ? h("p", { className: "quiet" }, t("partner.none"))
      : table(
          [
            ["self.reference", (s) => link(`/console/partner/shipments/${s.shipment_id}`, s.reference)],
            ["self.lane", (s) => `${s.origin} → ${s.destination}`],
            ["self.status", (s) => tag(s.status)],
            ["partner.linksRun", (s) => s.links_run.join(", ")],
            ["partner.holding", (s) => (s.current_holder ? t("partner.weHold") : "—")],
          ],
          page.items,
          { id: "partner-shipments" },
        ),
  );
}

async function shipment(view, id) {
  let shown = null;
  let signed = false; // a handover was signed on this page
  let answered = false; // a responsibility was answered on this page
  const title = h("h1", {});
  const linksBox = h("section", { id: "partner-links" });

  async function load(minPosition) {
    const query = minPosition === undefined ? {} : { min_position: minPosition };
    const [page, links] = await Promise.all([
      call("GET", "/v1/shipments", { query }),
      call("GET", `/v1/shipments/${id}/links`),
    ]);
    const summary = page.items.find((s) => s.shipment_id === id);
    shown = links;
    title.textContent = summary ? `${summary.reference} · ${summary.origin} → ${summary.destination}` : id;
    linksBox.replaceChildren(
      h("h2", {}, t("partner.links")),
      ...links.links.map((l) =>
        h(
          "article",
          { className: "card partner-link", "data-sequence": String(l.sequence) },
          h("h3", {}, `${t("self.linkNo", { n: l.sequence })} · ${fn(l.function)}`, l.mode ? ` · ${l.mode}` : "", " ", tag(l.status)),
          h(
            "dl",
            {},
            h("dt", {}, t("self.planned")),
            h("dd", {}, `${day(l.planned_start)} – ${day(l.planned_end)}`),
            h("dt", {}, t("partner.received")),
            h("dd", { "data-field": "received" }, handover(l.received)),
            h("dt", {}, t("partner.released")),
            h("dd", { "data-field": "released" }, handover(l.released)),
          ),
          l.incidents.length === 0
            ? null
            : h(
                "ul",
                { className: "incidents" },
                l.incidents.map((i) =>
                  h(
                    "li",
                    { "data-incident": i.incident_id },
                    h("time", { dateTime: i.discovered_at }, when(i.discovered_at)),
                    " ",
                    i.description,
                    " · ",
                    h("span", { className: "tag responsibility" }, tOr(`partner.responsibility.${i.responsibility_status}`, i.responsibility_status)),
                  ),
                ),
              ),
        ),
      ),
    );
    fillHandovers();
    fillIncidents();
  }

  function handover(done) {
    if (!done) return "—";
    return `${when(done.at)} · ${tOr(`self.condition.${done.condition}`, done.condition)} · ${done.signed_by}${done.reference ? ` · ${done.reference}` : ""}`;
  }

  // Sign a handover: into a link of ours (from the one before, or the shipper), out of one
  // to the next, or the delivery at the end of a delivery link.
  const which = h("select", { id: "handover-which", name: "to_sequence" });
  const condition = h("select", { id: "handover-condition", name: "condition" }, CONDITIONS.map((c) => h("option", { value: c }, t(`self.condition.${c}`))));
  const signedBy = h("input", { id: "handover-signed-by", name: "signed_by", maxLength: 200 });
  const reference = h("input", { id: "handover-reference", name: "reference", maxLength: 200 });
  const remarks = h("textarea", { id: "handover-remarks", name: "remarks", rows: 2, maxLength: 2000 });

  function fillHandovers() {
    const chosen = which.value;
    const options = [];
    for (const l of shown.links) {
      if (!l.holds_goods) continue;
      if (!l.received) options.push(h("option", { value: `in:${l.sequence}` }, t("partner.into", { n: l.sequence })));
      if (!l.released) {
        options.push(
          l.function === "delivery"
            ? h("option", { value: "deliver" }, t("partner.deliver", { n: l.sequence }))
            : h("option", { value: `out:${l.sequence + 1}` }, t("partner.outOf", { n: l.sequence, next: l.sequence + 1 })),
        );
      }
    }
    which.replaceChildren(...options);
    if (options.some((o) => o.value === chosen)) which.value = chosen;
    handoverForm.hidden = options.length === 0 && !signed; // kept to say how it went
  }

  const handoverForm = commandForm({
    id: "sign-handover",
    title: t("partner.sign"),
    submit: t("partner.signSubmit"),
    doneText: t("partner.signed"),
    fields: [
      ["handover-which", t("partner.handover"), which],
      ["handover-condition", t("partner.condition"), condition],
      ["handover-signed-by", t("partner.signedBy"), signedBy],
      ["handover-reference", t("partner.reference"), reference],
      ["handover-remarks", t("partner.remarks"), remarks],
    ],
    body: () => {
      if (!which.value) return t("partner.nothingToSign");
      const body = { condition: condition.value, signed_by: signedBy.value.trim() };
      if (!body.signed_by) return t("partner.signedByRequired");
      if (remarks.value.trim()) body.remarks = remarks.value.trim();
      if (which.value === "deliver") {
        if (!reference.value.trim()) return t("partner.podRequired");
        return { ...body, proof_of_delivery: reference.value.trim() };
      }
      if (reference.value.trim()) body.reference = reference.value.trim();
      return { ...body, to_sequence: Number(which.value.split(":")[1]) };
    },
    version: () => shown.version,
    staleText: t("self.stale"),
    send: (body, headers) =>
      "proof_of_delivery" in body
        ? call("POST", `/v1/shipments/${id}/deliver`, { body, headers })
        : call("POST", `/v1/shipments/${id}/handovers`, { body, headers }),
    done: (accepted) => {
      signed = true;
      return load(accepted.position);
    },
    review: (position) => load(position),
  });

  // Answer the responsibility proposed to a link of ours: accept, or dispute with a reason.
  const incident = h("select", { id: "answer-incident", name: "incident_id" });
  const answer = h(
    "select",
    { id: "answer-kind", name: "answer" },
    h("option", { value: "accept" }, t("partner.accept")),
    h("option", { value: "dispute" }, t("partner.dispute")),
  );
  const note = h("textarea", { id: "answer-note", name: "note", rows: 2, maxLength: 2000 });

  function fillIncidents() {
    const chosen = incident.value;
    const ours = new Set(shown.links.map((l) => l.sequence));
    const proposed = new Map();
    for (const l of shown.links) {
      for (const i of l.incidents) {
        if (i.responsibility_status === "assigned" && ours.has(i.responsible_link)) proposed.set(i.incident_id, i);
      }
    }
    incident.replaceChildren(...[...proposed.values()].map((i) => h("option", { value: i.incident_id }, `${when(i.discovered_at)} · ${i.description}`)));
    if (proposed.has(chosen)) incident.value = chosen;
    answerForm.hidden = proposed.size === 0 && !answered; // kept to say how it went
  }

  const answerForm = commandForm({
    id: "answer-responsibility",
    title: t("partner.answer"),
    submit: t("partner.answerSubmit"),
    doneText: t("partner.answered"),
    fields: [
      ["answer-incident", t("partner.incident"), incident],
      ["answer-kind", t("partner.answerKind"), answer],
      ["answer-note", t("partner.note"), note],
    ],
    body: () => {
      if (!incident.value) return t("partner.nothingToAnswer");
      const text = note.value.trim();
      if (!text) return t("partner.noteRequired");
      return answer.value === "accept"
        ? { incident: incident.value, note: text }
        : { incident: incident.value, reason: text };
    },
    version: () => shown.version,
    staleText: t("self.stale"),
    send: ({ incident: incidentId, ...body }, headers) =>
      call("POST", `/v1/shipments/${id}/incidents/${incidentId}/${"note" in body ? "accept" : "dispute"}`, { body, headers }),
    done: (accepted) => {
      answered = true;
      return load(accepted.position);
    },
    review: (position) => load(position),
  });

  await load();
  view.replaceChildren(
    h("p", {}, link("/", `← ${t("partner.title")}`)),
    title,
    h("div", { className: "columns partner" }, h("div", {}, handoverForm, answerForm), linksBox),
  );
}

export const routes = [
  [/^\/$/, (view) => home(view)],
  [/^\/console\/partner\/shipments\/([0-9a-fA-F-]{36})$/, (view, id) => shipment(view, id)],
];
export const nav = [{ href: "/", key: "nav.partnerHome", show: audience }];
