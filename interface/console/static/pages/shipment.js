// Shipments: the list (GET /v1/shipments, paged, filtered by status and by a branch that
// runs a link) and one shipment's chain of custody, drawn link by link from its
// responsibility audit (GET /v1/shipments/{id}/responsibility): each link with its party,
// times and status; the handovers between links; the incidents at a link and who answered
// for them; the claim with its limit and deadlines. Times are in the booking branch's time
// zone (the user's own branch's when the booking branch is not theirs to read). The
// commands of the chain are forms (`commandForm`), each shown only to whom
// docs/permissions.md allows it.

import { call, download, upload } from "../api.js";
import { go, h, link, money, session, table, when } from "../dom.js";
import { commandForm } from "../forms.js";
import { language, t, tOr } from "../i18n.js";

const STATUSES = ["booked", "in_transit", "delivered", "cancelled"];
const CONDITIONS = ["good", "damaged", "short"];
const INCIDENT_KINDS = ["damage", "loss", "shortage", "delay", "contamination", "documentation_error"];

// Roles, as docs/permissions.md ticks them.
const READ = ["field_staff", "office_staff", "branch_manager", "hq", "auditor"];
const WORK = ["field_staff", "office_staff", "branch_manager", "hq"];
const has = (me, roles) => me.roles.some((role) => roles.includes(role));
const sees = (me) => has(me, READ);

/** A party of the audit view: its name (then, if it changed since, its name now), its kind. */
function partyText(party) {
  if (!party) return "—";
  const name = party.name || party.branch || party.key;
  const now = party.current_name && party.current_name !== name ? ` (${t("ship.nowNamed", { name: party.current_name })})` : "";
  return `${name}${now} · ${tOr(`ship.partyKind.${party.kind}`, party.kind)}`;
}

/** A "branch:<code>" or "partner:<id>" key of the list, in words. */
function keyText(key) {
  if (!key) return "—";
  const [kind, value] = key.split(":");
  return kind === "branch" ? value : t("ship.partyKind.partner");
}

/** A moment as a <time>, in the zone, with the zone's name for whoever reads it aloud. */
function moment(iso, zone) {
  if (!iso) return h("span", { className: "quiet" }, "—");
  return h("time", { dateTime: iso, title: zone || "UTC" }, when(iso, zone));
}

/** A definition list of [label key, value (text or element), data-field]. */
function facts(rows) {
  return h(
    "dl",
    {},
    rows.map(([key, value, field]) => [h("dt", {}, t(key)), h("dd", field ? { "data-field": field } : {}, value ?? "—")]),
  );
}

// --- the list -------------------------------------------------------------------------------

async function shipments(view) {
  const params = new URLSearchParams(location.search);
  const chosen = { status: params.get("status") || "", branch: params.get("branch") || "", cursor: params.get("cursor") || "" };
  const [page, branches] = await Promise.all([
    call("GET", "/v1/shipments", { query: { ...chosen, limit: 25 } }),
    call("GET", "/v1/branches").catch(() => ({ items: [] })),
  ]);
  const status = h(
    "select",
    { id: "filter-status", name: "status" },
    h("option", { value: "" }, t("ship.any")),
    STATUSES.map((s) => h("option", { value: s, selected: s === chosen.status }, t(`ship.status.${s}`))),
  );
  const branch = h(
    "select",
    { id: "filter-branch", name: "branch" },
    h("option", { value: "" }, t("ship.any")),
    branches.items.map((b) => h("option", { value: b.code, selected: b.code === chosen.branch }, b.code)),
  );
  const address = (extra) => {
    const query = new URLSearchParams(Object.entries({ status: status.value, branch: branch.value, ...extra }).filter(([, v]) => v));
    const text = query.toString();
    return `/console/shipments${text ? `?${text}` : ""}`;
  };
  const filters = h(
    "form",
    {
      id: "shipment-filters",
      className: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        go(address({}));
      },
    },
    h("label", { htmlFor: "filter-status" }, t("ship.filterStatus")),
    status,
    h("label", { htmlFor: "filter-branch" }, t("ship.filterBranch")),
    branch,
    h("button", { type: "submit" }, t("ship.filter")),
  );
  const rows = page.items;
  view.replaceChildren(
    h("h1", {}, t("ship.listTitle")),
    filters,
    rows.length === 0
      ? h("p", { className: "quiet" }, t("ship.noneFound"))
      : table(
          [
            ["ship.reference", (s) => link(`/console/shipments/${s.shipment_id}`, s.reference)],
            ["ship.route", (s) => `${s.origin} → ${s.destination}`],
            ["ship.statusLabel", (s) => tOr(`ship.status.${s.status}`, s.status)],
            ["ship.modes", (s) => s.modes.map((m) => tOr(`ship.mode.${m}`, m)).join(", ") || "—"],
            ["ship.bookingBranch", (s) => s.booking_branch || "—"],
            ["ship.holder", (s) => keyText(s.current_holder)],
            ["ship.openIncidents", (s) => String(s.open_incidents ?? "—")],
            ["ship.openClaims", (s) => String(s.open_claims ?? "—")],
            ["ship.linksRun", (s) => s.links_run.join(", ") || "—"],
            ["ship.bookedAt", (s) => moment(s.booked_at)],
          ],
          rows,
          { id: "shipments", className: "list" },
        ),
    h(
      "p",
      { className: "pager" },
      chosen.cursor ? link(address({}), t("ship.firstPage")) : null,
      " ",
      page.next_cursor ? link(address({ cursor: page.next_cursor }), t("ship.nextPage")) : null,
    ),
  );
}

// --- one shipment -----------------------------------------------------------------------------

async function shipment(view, id) {
  const me = session.me || (await call("GET", "/v1/staff/me"));
  let shown = null; // the audit view shown: its version is what the forms send as If-Match
  let zone = null;
  let bookingBranch = null; // null: not a branch this user may read the customer of
  const title = h("h1", {});
  const summaryBox = h("section", { id: "summary" });
  const chainBox = h("section", { id: "chain-of-custody", "aria-labelledby": "chain-heading" });
  const claimsBox = h("section", { id: "claims" });
  const commandsBox = h("section", { id: "commands", className: "commands" });
  // What the last command did: the forms are drawn again with the page, this stays.
  const notice = h("p", { id: "shipment-message", role: "status" });
  // Forms kept across redraws while what they offer is the same (the typed text survives a 412's review).
  const kept = new Map();
  const keep = (formId, signature, make) => {
    const old = kept.get(formId);
    if (old && old.signature === signature) return old.form;
    const form = make();
    if (form) kept.set(formId, { signature, form });
    else kept.delete(formId);
    return form;
  };

  // Which links this user's branch runs; null: every link (headquarters, the booking branch).
  const work = () => has(me, WORK);
  const everyLink = () => me.roles.includes("hq") || (bookingBranch !== null && bookingBranch === me.branch);
  const runs = (sequence) => {
    if (everyLink()) return true;
    const found = shown.chain.find((l) => l.sequence === sequence);
    return Boolean(found && found.party.kind === "branch" && found.party.branch === me.branch);
  };

  async function zoneOf() {
    // The booking branch is the customer's; its staff (and headquarters, auditors) read it.
    const customer = await call("GET", `/v1/relationships/${shown.customer_id}`).catch(() => null);
    bookingBranch = customer ? customer.branch : null;
    const code = bookingBranch || me.branch;
    const branch = code ? await call("GET", `/v1/branches/${encodeURIComponent(code)}`).catch(() => null) : null;
    zone = branch ? branch.time_zone : "UTC";
  }

  async function load(minPosition) {
    const query = minPosition === undefined ? {} : { min_position: minPosition };
    shown = await call("GET", `/v1/shipments/${id}/responsibility`, { query });
    if (zone === null) await zoneOf();
    draw();
  }

  function draw() {
    const s = shown;
    title.textContent = t("ship.title", { reference: s.reference });
    const holder = s.current_holder ? `${partyText(s.current_holder.party)} · ${t("ship.linkN", { n: s.current_holder.link_sequence })}` : "—";
    summaryBox.replaceChildren(
      facts([
        ["ship.route", `${s.origin} → ${s.destination}`, "route"],
        ["ship.statusLabel", tOr(`ship.status.${s.status}`, s.status), "status"],
        ["ship.cargo", `${s.cargo.description} · ${s.cargo.packages} · ${s.cargo.gross_weight_kg} kg · ${money(s.cargo.declared_value, s.cargo.currency)}`],
        ["ship.bookingBranch", bookingBranch || "—", "booking-branch"],
        ["ship.holder", holder, "holder"],
        ["ship.deliveredAt", moment(s.delivered_at, zone)],
        ["ship.zone", zone, "zone"],
        ["ship.version", String(s.version), "version"],
      ]),
    );
    drawChain();
    drawClaims();
    drawCommands();
  }

  // The chain: handover into link 1, link 1, handover into link 2, …, link n, delivery.
  function drawChain() {
    const links = shown.chain;
    const items = [];
    links.forEach((l, index) => {
      items.push(handoverItem(l.sequence, l.handover_in, index === 0 ? t("ship.shipper") : links[index - 1].party, l.party));
      items.push(linkItem(l));
    });
    const last = links[links.length - 1];
    if (last) items.push(handoverItem(last.sequence + 1, last.handover_out, last.party, t("ship.consignee")));
    chainBox.replaceChildren(
      h("h2", { id: "chain-heading" }, t("ship.chain")),
      h("p", { className: "quiet" }, t("ship.timesIn", { zone })),
      h("ol", { className: "chain", id: "chain" }, items),
    );
  }

  function handoverItem(number, handover, from, to) {
    const name = (p) => (typeof p === "string" ? p : p.name || p.branch);
    const heading = t("ship.handoverN", { from: name(from), to: name(to) });
    if (!handover) {
      return h("li", { className: "handover pending", "data-handover": number }, h("span", { className: "marker", "aria-hidden": "true" }, "↓"), h("strong", {}, heading), " ", h("span", { className: "tag" }, t("ship.notYet")));
    }
    const exception = handover.condition !== "good";
    const signer = handover.signed_by_name ? `${handover.signed_by_name} (${handover.signed_by})` : handover.signed_by;
    return h(
      "li",
      { className: `handover ${exception ? "exception" : "clean"}`, "data-handover": number },
      h("span", { className: "marker", "aria-hidden": "true" }, exception ? "⚠" : "↓"),
      h("strong", {}, heading),
      " ",
      h("span", { className: "tag condition", "data-field": "condition" }, exception ? t("ship.exception", { condition: t(`ship.condition.${handover.condition}`) }) : t("ship.clean")),
      facts([
        ["ship.at", moment(handover.at, zone)],
        ["ship.signedBy", signer, "signed-by"],
        ["ship.handoverReference", handover.reference || "—"],
        ["ship.affected", affected(handover)],
        ["ship.remarks", handover.remarks || "—"],
        ["ship.observed", observedText(handover.observed)],
      ]),
      files(handover.attachments),
    );
  }

  function linkItem(l) {
    const here = shown.incidents.filter((i) => i.link_sequence === l.sequence);
    return h(
      "li",
      { className: `link status-${l.status}`, "data-sequence": l.sequence },
      h(
        "h3",
        {},
        `${t("ship.linkN", { n: l.sequence })} · ${tOr(`ship.function.${l.function}`, l.function)}`,
        " ",
        h("span", { className: "tag", "data-field": "link-status" }, tOr(`ship.linkStatus.${l.status}`, l.status)),
      ),
      facts([
        ["ship.party", partyText(l.party), "party"],
        ["ship.mode", l.mode ? tOr(`ship.mode.${l.mode}`, l.mode) : t("ship.noMode"), "mode"],
        ["ship.regime", tOr(`ship.regime.${l.regime}`, l.regime)],
        ["ship.planned", [moment(l.planned_start, zone), " – ", moment(l.planned_end, zone)]],
        ["ship.actual", [moment(l.started_at, zone), " – ", moment(l.completed_at, zone)]],
        ["ship.estimatedEnd", moment(l.estimated_end, zone)],
        ["ship.holdsGoods", l.holds_goods ? t("ship.yes") : t("ship.no")],
      ]),
      here.length ? h("div", { className: "incidents" }, here.map(incidentItem)) : null,
    );
  }

  function incidentItem(incident) {
    const r = incident.responsible;
    const status = incident.responsibility_status;
    const staffName = (who) => (who ? `${who.name} (${who.staff_id})` : "—");
    const rows = [
      ["ship.discoveredAt", moment(incident.discovered_at, zone)],
      ["ship.reportedBy", incident.reported_by_name ? `${incident.reported_by_name} (${incident.reported_by})` : incident.reported_by],
      ["ship.description", incident.description],
      ["ship.affected", affected(incident)],
      ["ship.responsibility", t(`ship.resp.${status}`), "responsibility"],
      ["ship.responsibleParty", r ? `${partyText(r.party)} · ${t("ship.linkN", { n: r.link_sequence })}` : "—", "responsible"],
    ];
    if (r) rows.push(["ship.basis", tOr(`ship.basis.${r.basis}`, r.basis)], ["ship.explanation", r.explanation || "—"]);
    rows.push(["ship.assignedBy", staffName(incident.assigned_by)]);
    if (incident.answered_by) rows.push(["ship.answeredBy", staffName(incident.answered_by)]);
    if (incident.dispute_reason) rows.push(["ship.disputeReason", incident.dispute_reason, "dispute-reason"]);
    if (incident.arbitrated_by) rows.push(["ship.arbitratedBy", staffName(incident.arbitrated_by), "arbitrated-by"]);
    if (incident.arbitration_decision) rows.push(["ship.decision", incident.arbitration_decision]);
    if (incident.resolved_at) rows.push(["ship.resolvedAt", moment(incident.resolved_at, zone)], ["ship.resolution", incident.resolution || "—"]);
    const coordination = incident.coordination || [];
    return h(
      "article",
      { className: `incident resp-${status}`, "data-incident": incident.incident_id },
      h("h4", {}, h("span", { "aria-hidden": "true" }, "⚠ "), t("ship.incidentTitle", { kind: tOr(`ship.incidentKind.${incident.kind}`, incident.kind) })),
      facts(rows),
      coordination.length
        ? h("ul", { className: "coordination" }, coordination.map((c) => h("li", {}, moment(c.taken_at, zone), " ", c.action, ` — ${c.taken_by_name || c.taken_by}`)))
        : null,
      h("h5", {}, t("ship.evidence")),
      files(incident.attachments, "incident-files"),
      keep(`attach-${incident.incident_id}`, String(incident.resolved_at), () => attachForm(incident)),
      keep(`arbitrate-${incident.incident_id}`, incident.responsibility_status, () => arbitrateForm(incident)),
    );
  }

  function files(list, className = "files") {
    if (!list || list.length === 0) return h("p", { className: `${className} quiet` }, t("ship.noFiles"));
    return h(
      "ul",
      { className },
      list.map((f) =>
        h(
          "li",
          { "data-sha256": f.sha256 },
          h("a", { href: `/v1/shipments/${id}/attachments/${f.sha256}`, onclick: (event) => openFile(event, f) }, f.file_name),
          ` · ${f.media_type} · ${f.size} B · ${t("ship.attachedBy", { who: f.attached_by })} · `,
          moment(f.attached_at, zone),
        ),
      ),
    );
  }

  // A file is read with the bearer token, so it opens from a blob rather than a plain link.
  async function openFile(event, file) {
    event.preventDefault();
    const blob = await download(`/v1/shipments/${id}/attachments/${file.sha256}`, asked());
    open(URL.createObjectURL(blob), "_blank", "noopener");
  }

  function drawClaims() {
    const claims = shown.claims || [];
    claimsBox.replaceChildren(
      h("h2", {}, t("ship.claims")),
      ...(claims.length === 0 ? [h("p", { className: "quiet" }, t("ship.noClaims"))] : claims.map((c) => claimItem(c))),
    );
  }

  function claimItem(c) {
    const limit = c.liability_limit;
    const cust = c.customer_deadlines;
    const rec = c.recovery_deadlines;
    const cur = c.currency;
    const incident = shown.incidents.find((i) => i.incident_id === c.incident_id);
    return h(
      "article",
      { className: "claim", "data-claim": c.claim_id },
      h("h3", {}, t("ship.claimTitle", { amount: money(c.amount, cur) }), " ", h("span", { className: "tag" }, tOr(`ship.claimStatus.${c.status}`, c.status))),
      facts([
        ["ship.incident", incident ? `${tOr(`ship.incidentKind.${incident.kind}`, incident.kind)} · ${t("ship.linkN", { n: incident.link_sequence })}` : c.incident_id],
        ["ship.notifiedAt", moment(c.notified_at, zone)],
        ["ship.responsibleParty", partyText(c.responsible_party)],
        [
          "ship.limit",
          limit
            ? `${tOr(`ship.regime.${limit.regime}`, limit.regime)}: ${limit.sdr} SDR × ${limit.sdr_rate} = ${money(limit.amount, limit.currency)} (${limit.weight_kg} kg, ${limit.packages})`
            : t("ship.notAssessed"),
          "limit",
        ],
        ["ship.customerDeadlines", cust ? [tOr(`ship.regime.${cust.regime}`, cust.regime), " · ", t("ship.notice"), " ", moment(cust.notice_deadline, zone), " · ", t("ship.timeBar"), " ", moment(cust.time_bar, zone)] : t("ship.notAssessed"), "customer-deadlines"],
        [
          "ship.recoveryDeadlines",
          rec
            ? [tOr(`ship.regime.${rec.regime}`, rec.regime), ` · ${t("ship.linkN", { n: rec.link_sequence })} · `, t("ship.notice"), " ", moment(rec.notice_deadline, zone), " · ", t("ship.timeBar"), " ", moment(rec.time_bar, zone), " · ", t("ship.noticedAt"), " ", moment(rec.noticed_at, zone)]
            : t("ship.notAssessed"),
          "recovery-deadlines",
        ],
        ["ship.compensation", c.compensation_paid ? [money(c.compensation_paid, cur), " · ", moment(c.compensated_at, zone)] : t("ship.notPaid"), "compensation"],
        ["ship.recoveryFrom", c.recovery_from_name || "—"],
        ["ship.recoveryClaimed", c.recovery_claimed ? [money(c.recovery_claimed, cur), " · ", moment(c.recovery_claimed_at, zone)] : "—"],
        ["ship.recoveryReceived", c.recovery_received ? money(c.recovery_received, cur) : "—"],
        ["ship.recoveryWaived", c.recovery_waived || "—"],
        ["ship.netCost", money(c.net_cost, cur)],
        ["ship.closedAt", moment(c.closed_at, zone)],
      ]),
      h("h4", {}, t("ship.evidence")),
      files(c.attachments),
    );
  }

  // --- commands ---------------------------------------------------------------------------

  const common = (extra) => ({
    version: () => shown.version,
    staleText: t("ship.stale"),
    done: async (accepted) => {
      await load(accepted.position); // read your own write
      notice.className = "ok";
      notice.textContent = extra.doneText;
    },
    review: (position) => load(position),
    ...extra,
  });
  const at = (input) => (input.value ? inZone(input.value, zone) : undefined);
  const whenInput = (name) => h("input", { type: "datetime-local", id: name, name });
  const text = (name, attributes = {}) => h("input", { type: "text", id: name, name, ...attributes });
  const count = (name) => h("input", { type: "number", id: name, name, min: 1, step: 1 });

  // Handover into link k: by the party handing over (link k-1) or receiving (link k).
  function handoverForm() {
    const targets = shown.chain.filter((l) => !l.handover_in && l.holds_goods && (runs(l.sequence) || runs(l.sequence - 1)));
    if (!work() || shown.status === "delivered" || shown.status === "cancelled" || targets.length === 0) return null;
    const to = h("select", { id: "handover-to", name: "to_sequence" }, targets.map((l) => h("option", { value: l.sequence }, `${t("ship.linkN", { n: l.sequence })} · ${l.party.name || l.party.branch}`)));
    const condition = h("select", { id: "handover-condition", name: "condition" }, CONDITIONS.map((c) => h("option", { value: c }, t(`ship.condition.${c}`))));
    const signedBy = text("handover-signed-by", { maxLength: 120, value: me.name });
    const reference = text("handover-reference", { maxLength: 200 });
    const remarks = h("textarea", { id: "handover-remarks", name: "remarks", rows: 2, maxLength: 2000 });
    const packages = count("handover-packages");
    const occurred = whenInput("handover-at");
    return commandForm(
      common({
        id: "record-handover",
        title: t("ship.handoverForm"),
        submit: t("ship.handoverSubmit"),
        doneText: t("ship.handoverDone"),
        fields: [
          ["handover-to", t("ship.handoverTo"), to],
          ["handover-condition", t("ship.condition"), condition],
          ["handover-signed-by", t("ship.signedBy"), signedBy],
          ["handover-reference", t("ship.handoverReference"), reference],
          ["handover-remarks", t("ship.remarks"), remarks],
          ["handover-packages", t("ship.packagesAffected"), packages],
          ["handover-at", t("ship.occurredAt"), occurred],
        ],
        body: () => {
          const body = { to_sequence: Number(to.value), condition: condition.value, signed_by: signedBy.value.trim() };
          if (!body.signed_by) return t("ship.signedByRequired");
          if (reference.value.trim()) body.reference = reference.value.trim();
          if (remarks.value.trim()) body.remarks = remarks.value.trim();
          if (packages.value) body.packages_affected = Number(packages.value);
          if (at(occurred)) body.occurred_at = at(occurred);
          return body;
        },
        send: (body, headers) => call("POST", `/v1/shipments/${id}/handovers`, { body, headers }),
      }),
    );
  }

  function incidentForm() {
    const where = shown.chain.filter((l) => runs(l.sequence));
    if (!work() || where.length === 0 || shown.status === "cancelled") return null;
    const at_ = h("select", { id: "incident-link", name: "link_sequence" }, where.map((l) => h("option", { value: l.sequence }, `${t("ship.linkN", { n: l.sequence })} · ${l.party.name || l.party.branch}`)));
    const kind = h("select", { id: "incident-kind", name: "kind" }, INCIDENT_KINDS.map((k) => h("option", { value: k }, t(`ship.incidentKind.${k}`))));
    const description = h("textarea", { id: "incident-description", name: "description", rows: 3, maxLength: 2000 });
    const packages = count("incident-packages");
    const occurred = whenInput("incident-at");
    return commandForm(
      common({
        id: "report-incident",
        title: t("ship.incidentForm"),
        submit: t("ship.incidentSubmit"),
        doneText: t("ship.incidentDone"),
        fields: [
          ["incident-link", t("ship.atLink"), at_],
          ["incident-kind", t("ship.incidentKindLabel"), kind],
          ["incident-description", t("ship.description"), description],
          ["incident-packages", t("ship.packagesAffected"), packages],
          ["incident-at", t("ship.occurredAt"), occurred],
        ],
        body: () => {
          const body = { link_sequence: Number(at_.value), kind: kind.value, description: description.value.trim() };
          if (!body.description) return t("ship.descriptionRequired");
          if (packages.value) body.packages_affected = Number(packages.value);
          if (at(occurred)) body.occurred_at = at(occurred);
          return body;
        },
        send: (body, headers) => call("POST", `/v1/shipments/${id}/incidents`, { body, headers }),
      }),
    );
  }

  // Evidence: staff who may work the shipment, or whose branch runs the incident's link.
  function attachForm(incident) {
    if (!work() || incident.resolved_at || !runs(incident.link_sequence)) return null;
    const fieldId = `file-${incident.incident_id}`;
    const file = h("input", { type: "file", id: fieldId, name: "file", accept: "image/jpeg,image/png,image/webp,application/pdf,image/tiff" });
    return commandForm(
      common({
        id: `attach-${incident.incident_id}`,
        title: t("ship.attachForm"),
        submit: t("ship.attachSubmit"),
        doneText: t("ship.attachDone"),
        fields: [[fieldId, t("ship.file"), file]],
        body: () => {
          const chosen = file.files[0];
          if (!chosen) return t("ship.fileRequired");
          // Named by what identifies the file, so another file gets another Idempotency-Key.
          return { name: chosen.name, size: chosen.size, modified: chosen.lastModified, type: chosen.type, file: chosen };
        },
        send: (body, headers) => {
          const data = new FormData();
          data.append("file", body.file, body.name);
          return upload(`/v1/shipments/${id}/incidents/${incident.incident_id}/attachments`, data, { headers: { ...headers, ...asked() } });
        },
      }),
    );
  }

  // Headquarters' arbitration (总部仲裁) of a disputed responsibility, or one not answered.
  function arbitrateForm(incident) {
    const open = ["disputed", "assigned"].includes(incident.responsibility_status);
    if (!me.roles.includes("hq") || !open) return null;
    const prefix = `arbitrate-${incident.incident_id}`;
    const to = h("select", { id: `${prefix}-link`, name: "link_sequence" }, shown.chain.map((l) => h("option", { value: l.sequence, selected: incident.responsible && l.sequence === incident.responsible.link_sequence }, `${t("ship.linkN", { n: l.sequence })} · ${l.party.name || l.party.branch}`)));
    const decision = h("textarea", { id: `${prefix}-decision`, name: "decision", rows: 3, maxLength: 2000 });
    return commandForm(
      common({
        id: prefix,
        title: t("ship.arbitrateForm"),
        submit: t("ship.arbitrateSubmit"),
        doneText: t("ship.arbitrateDone"),
        fields: [
          [`${prefix}-link`, t("ship.responsibleLink"), to],
          [`${prefix}-decision`, t("ship.decision"), decision],
        ],
        body: () => {
          const body = { link_sequence: Number(to.value), decision: decision.value.trim() };
          return body.decision ? body : t("ship.decisionRequired");
        },
        send: (body, headers) => call("POST", `/v1/shipments/${id}/incidents/${incident.incident_id}/arbitrate`, { body, headers }),
      }),
    );
  }

  function drawCommands() {
    const targets = (f) => shown.chain.filter(f).map((l) => l.sequence).join(",");
    const forms = [
      keep("record-handover", `${shown.status}|${targets((l) => !l.handover_in)}`, handoverForm),
      keep("report-incident", shown.status, incidentForm),
    ].filter(Boolean);
    commandsBox.replaceChildren(...(forms.length ? [h("h2", {}, t("ship.commands")), ...forms] : []));
  }

  await load();
  view.replaceChildren(title, notice, summaryBox, chainBox, claimsBox, commandsBox);
}

/** A wall-clock time typed in a datetime-local field ("2026-03-04T09:30"), read in `zone`,
 * as an ISO instant: the zone's offset at that moment found with Intl, then checked again
 * (a time near a daylight-saving change moves the offset). */
export function inZone(local, zone) {
  const [date, time] = local.split("T");
  const [y, mo, d] = date.split("-").map(Number);
  const [hh, mi] = time.split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, hh, mi);
  const offsetAt = (instant) => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
        .formatToParts(new Date(instant))
        .map((p) => [p.type, p.value]),
    );
    return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute) - instant;
  };
  let instant = wall - offsetAt(wall);
  instant = wall - offsetAt(instant);
  return new Date(instant).toISOString();
}

/** Refusals in the language the user chose, as `call` asks for them. */
function asked() {
  return { "Accept-Language": language() === "zh" ? "zh-CN" : "en" };
}

function affected(record) {
  const parts = [];
  if (record.packages_affected) parts.push(t("ship.packagesN", { n: record.packages_affected }));
  if (record.weight_affected_kg) parts.push(`${record.weight_affected_kg} kg`);
  return parts.join(" · ") || "—";
}

function observedText(observed) {
  if (!observed) return "—";
  return Object.entries(observed)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${v}`)
    .join(" · ") || "—";
}

export const routes = [
  [/^\/console\/shipments$/, (view) => shipments(view)],
  [/^\/console\/shipments\/([0-9a-fA-F-]{36})$/, (view, id) => shipment(view, id)],
];
export const nav = [{ href: "/console/shipments", key: "nav.shipments", show: sees }];
