// Auditors (and headquarters): a customer's or a shipment's whole history, any version of
// it and what changed between two, the findings, the log verified, and a customer's audit
// package downloaded. Everything here is a read (docs/permissions.md: the history, state,
// diff, package and verify endpoints are hq's and the auditor's; findings also a branch
// manager's).

import { Problem, Unauthorized, call, fetchRaw } from "../api.js";
import { h, link, problemText, session, signedOut, when } from "../dom.js";
import { t, tOr } from "../i18n.js";

const AUDIT = ["hq", "auditor"];
const OVERSIGHT = ["branch_manager", "hq", "auditor"];
const PAGE_SIZES = [10, 50, 200];

function may(me, roles) {
  return Boolean(me) && (me.roles || []).some((role) => roles.includes(role));
}

/** A refusal shown in place; a 401 sends the user back to sign-in. */
function failed(box, error) {
  if (error instanceof Unauthorized) return signedOut();
  box.replaceChildren(h("p", { role: "alert", className: "error" }, problemText(error)));
}

/** A value of the state or an event, as text: null as a dash, anything nested as JSON. */
function shown(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function clipped(text, most = 120) {
  return text.length > most ? `${text.slice(0, most - 1)}…` : text;
}

// --- the audit page: verify the log, find a customer ----------------------------------------

function verdict(result) {
  const parts = [];
  if (result.intact) {
    parts.push(h("p", { className: "ok", "data-verdict": "intact" }, t("audit.intact", { entries: result.entries, position: result.intact_up_to })));
  } else {
    parts.push(
      h(
        "p",
        { className: "error", "data-verdict": "broken" },
        t("audit.broken", { position: result.broken_at, reason: tOr(`audit.reason.${result.reason}`, result.reason || "") }),
      ),
    );
    if (result.detail) parts.push(h("p", { className: "quiet" }, result.detail));
  }
  const files = result.evidence;
  if (files) {
    parts.push(
      files.intact
        ? h("p", { className: "ok", "data-evidence": "intact" }, t("audit.evidenceIntact", { count: files.attachments }))
        : h(
            "div",
            { "data-evidence": "broken" },
            h("p", { className: "error" }, t("audit.evidenceBroken", { count: files.problems.length })),
            h(
              "ul",
              {},
              files.problems.map((p) => h("li", {}, `${tOr(`audit.file.${p.state}`, p.state)}: ${p.sha256.slice(0, 12)}… · ${p.attached_to}`)),
            ),
          ),
    );
  }
  parts.push(h("p", { className: "quiet" }, t("audit.head", { hash: result.head_hash })));
  return parts;
}

function verifyButton() {
  const result = h("div", { id: "verify-result", role: "status" });
  const button = h(
    "button",
    {
      type: "button",
      id: "verify-log",
      onclick: async () => {
        button.disabled = true;
        result.replaceChildren(h("p", { className: "quiet" }, t("audit.verifying")));
        try {
          result.replaceChildren(...verdict(await call("POST", "/v1/audit/verify", { body: {} })));
        } catch (error) {
          failed(result, error);
        } finally {
          button.disabled = false;
        }
      },
    },
    t("audit.verify"),
  );
  return h("section", { id: "verify", className: "card" }, h("h2", {}, t("audit.verifyTitle")), h("p", { className: "quiet" }, t("audit.verifyIntro")), button, result);
}

function checkCheckpoint() {
  const note = h("textarea", { id: "checkpoint", name: "checkpoint", rows: 6, maxLength: 8192, spellcheck: false });
  const result = h("div", { id: "checkpoint-result", role: "status" });
  const button = h("button", { type: "submit" }, t("audit.checkCheckpoint"));
  return h(
    "form",
    {
      id: "checkpoint-form",
      className: "card",
      onsubmit: async (event) => {
        event.preventDefault();
        const checkpoint = note.value.trim();
        if (!checkpoint) return;
        button.disabled = true;
        try {
          // The signed note is whitespace-exact: only the outer blank lines are dropped.
          const answer = await call("POST", "/v1/audit/tree-heads/check", { body: { checkpoint: `${checkpoint}\n` } });
          result.replaceChildren(
            h(
              "p",
              { className: answer.extends ? "ok" : "error", "data-extends": String(answer.extends) },
              answer.extends ? t("audit.extends", { size: answer.size, checkpoint: answer.checkpoint_size }) : t("audit.extendsNot"),
            ),
            h("p", { className: "quiet" }, answer.detail),
          );
        } catch (error) {
          failed(result, error);
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h2", {}, t("audit.checkpointTitle")),
    h("label", { htmlFor: "checkpoint" }, t("audit.checkpointLabel")),
    note,
    button,
    result,
  );
}

function findCustomer() {
  const hits = h("div", { id: "audit-hits" });
  const input = h("input", { type: "search", id: "audit-q", name: "q", required: true });
  return h(
    "section",
    { className: "card" },
    h("h2", {}, t("audit.findTitle")),
    h(
      "form",
      {
        id: "audit-find",
        onsubmit: async (event) => {
          event.preventDefault();
          const q = input.value.trim();
          if (!q) return;
          try {
            const page = await call("GET", "/v1/search", { query: { q } });
            const customers = new Map(page.items.map((hit) => [hit.relationship_id, hit.relationship_name || hit.label]));
            hits.replaceChildren(
              customers.size === 0
                ? h("p", { className: "quiet" }, t("search.none", { q }))
                : h("ul", {}, [...customers].map(([id, name]) => h("li", {}, link(`/console/audit/customers/${id}`, name)))),
            );
          } catch (error) {
            failed(hits, error);
          }
        },
      },
      h("label", { htmlFor: "audit-q" }, t("audit.findLabel")),
      " ",
      input,
      " ",
      h("button", { type: "submit" }, t("search.go")),
    ),
    hits,
  );
}

async function auditHome(view) {
  view.replaceChildren(
    h("h1", {}, t("audit.title")),
    h("p", {}, link("/console/audit/findings", t("audit.findingsLink"))),
    h("div", { className: "columns even" }, verifyButton(), findCustomer(), checkCheckpoint()),
  );
}

// --- findings ---------------------------------------------------------------------------------

async function findingsPage(view) {
  const me = session.me;
  const list = await call("GET", "/v1/audit/findings");
  const auditor = may(me, AUDIT);
  const shipmentCell = (f) => (auditor ? link(`/console/audit/shipments/${f.shipment_id}`, f.reference) : f.reference);
  const customerCell = (f) =>
    auditor ? link(`/console/audit/customers/${f.customer_id}`, t("audit.customerHistory")) : link(`/console/customers/${f.customer_id}`, t("audit.customer"));
  view.replaceChildren(
    h("h1", {}, t("audit.findingsTitle")),
    h("p", { className: "quiet" }, t("audit.findingsAsOf", { when: when(list.as_of) })),
    list.items.length === 0
      ? h("p", { className: "quiet", id: "findings" }, t("audit.noFindings"))
      : h(
          "table",
          { id: "findings" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["audit.kind", "audit.shipment", "audit.customer", "audit.party", "audit.since", "audit.detail"].map((key) => h("th", { scope: "col" }, t(key))),
            ),
          ),
          h(
            "tbody",
            {},
            list.items.map((f) =>
              h(
                "tr",
                { "data-kind": f.kind },
                h("td", {}, h("span", { className: "tag" }, tOr(`finding.${f.kind}`, f.kind))),
                h("td", {}, shipmentCell(f), f.link_sequence ? h("span", { className: "quiet" }, ` · ${t("audit.link", { n: f.link_sequence })}`) : null),
                h("td", {}, customerCell(f), f.branch ? h("span", { className: "quiet" }, ` · ${f.branch}`) : null),
                h("td", {}, f.party_name || f.party || "—"),
                h("td", {}, when(f.since)),
                h("td", {}, f.detail),
              ),
            ),
          ),
        ),
  );
}


// --- one aggregate's history, versions and differences -------------------------------------------

/**
 * The timeline: the customer's history (GET /v1/relationships/{id}/history), filtered by
 * event name and actor on the server, paged by its cursor; `only` keeps one aggregate's
 * entries (a shipment's), still paged by the server's cursor.
 */
function timeline(customerId, only = null) {
  const box = h("ol", { className: "history", id: "history-list" });
  const status = h("p", { className: "quiet", id: "history-status", role: "status" });
  const eventInput = h("input", { id: "filter-event", name: "event", list: "event-names", placeholder: "Relationship.Renamed" });
  const actorInput = h("input", { id: "filter-actor", name: "actor", list: "actor-names" });
  const sizeSelect = h("select", { id: "page-size", name: "limit" }, PAGE_SIZES.map((n) => h("option", { value: n, selected: n === 50 }, String(n))));
  const eventNames = h("datalist", { id: "event-names" });
  const actorNames = h("datalist", { id: "actor-names" });
  const seenEvents = new Set();
  const seenActors = new Set();
  const previous = h("button", { type: "button", id: "history-previous", onclick: () => turn(-1) }, t("audit.previous"));
  const next = h("button", { type: "button", id: "history-next", onclick: () => turn(1) }, t("audit.next"));
  // The cursors of the pages shown so far: cursors[i] starts page i (null: the first).
  let cursors = [null];
  let index = 0;
  let nextCursor = null;
  let asked = 0;

  async function fetchPage(cursor) {
    const query = { limit: sizeSelect.value, cursor };
    if (eventInput.value.trim()) query.event = eventInput.value.trim();
    if (actorInput.value.trim()) query.actor = actorInput.value.trim();
    if (!only) return call("GET", `/v1/relationships/${customerId}/history`, { query });
    // One aggregate's entries: follow the cursor until some are found or the history ends.
    let page = await call("GET", `/v1/relationships/${customerId}/history`, { query });
    let items = page.items.filter((entry) => entry.aggregate_id === only);
    while (items.length === 0 && page.next_cursor) {
      page = await call("GET", `/v1/relationships/${customerId}/history`, { query: { ...query, cursor: page.next_cursor } });
      items = page.items.filter((entry) => entry.aggregate_id === only);
    }
    return { items, next_cursor: page.next_cursor };
  }

  function entry(item) {
    seenEvents.add(item.event_name);
    seenActors.add(item.actor);
    const fields = Object.entries(item.data || {});
    const aggregate =
      item.aggregate_type === "Shipment" && item.aggregate_id !== only
        ? link(`/console/audit/shipments/${item.aggregate_id}`, `${item.aggregate_type} v${item.version}`)
        : `${item.aggregate_type} v${item.version}`;
    return h(
      "li",
      { "data-position": item.position, "data-event": item.event_name },
      h("span", { className: "tag event" }, item.event_name),
      " ",
      h("span", { className: "quiet" }, aggregate),
      " · ",
      h("span", { className: "actor", "data-actor": item.actor }, t("audit.by", { actor: item.actor })),
      h(
        "div",
        { className: "times" },
        h("span", {}, `${t("audit.occurred")}: `, h("time", { className: "occurred", dateTime: item.occurred_at }, when(item.occurred_at))),
        " · ",
        h("span", {}, `${t("audit.recorded")}: `, h("time", { className: "recorded", dateTime: item.recorded_at }, when(item.recorded_at))),
      ),
      fields.length === 0
        ? null
        : h(
            "dl",
            { className: "fields" },
            fields.slice(0, 8).map(([name, value]) => [h("dt", {}, name), h("dd", { "data-name": name }, clipped(shown(value)))]),
          ),
    );
  }

  async function show() {
    const mine = ++asked;
    status.textContent = t("audit.loading");
    let page;
    try {
      page = await fetchPage(cursors[index]);
    } catch (error) {
      if (mine !== asked) return;
      status.textContent = "";
      return failed(box, error);
    }
    if (mine !== asked) return; // a later request replaced this one
    nextCursor = page.next_cursor;
    box.replaceChildren(...page.items.map(entry));
    status.textContent = page.items.length === 0 ? t("audit.noHistory") : t("audit.pageOf", { page: index + 1, count: page.items.length });
    eventNames.replaceChildren(...[...seenEvents].sort().map((name) => h("option", { value: name })));
    actorNames.replaceChildren(...[...seenActors].sort().map((name) => h("option", { value: name })));
    previous.disabled = index === 0;
    next.disabled = !nextCursor;
  }

  function turn(step) {
    if (step > 0) {
      if (!nextCursor) return;
      cursors = [...cursors.slice(0, index + 1), nextCursor];
      index += 1;
    } else if (index > 0) {
      index -= 1;
    }
    return show();
  }

  const filters = h(
    "form",
    {
      id: "history-filters",
      className: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        cursors = [null];
        index = 0;
        return show();
      },
    },
    h("label", { htmlFor: "filter-event" }, t("audit.eventFilter")),
    eventInput,
    eventNames,
    h("label", { htmlFor: "filter-actor" }, t("audit.actorFilter")),
    actorInput,
    actorNames,
    h("label", { htmlFor: "page-size" }, t("audit.pageSize")),
    sizeSelect,
    h("button", { type: "submit" }, t("audit.applyFilter")),
  );
  const section = h(
    "section",
    { id: "history" },
    h("h2", {}, t("audit.history")),
    filters,
    status,
    box,
    h("div", { className: "pager" }, previous, " ", next),
  );
  return { section, show };
}

function stateList(state) {
  return h(
    "dl",
    { className: "state" },
    Object.entries(state).map(([name, value]) => [h("dt", {}, name), h("dd", { "data-field": name }, h("code", {}, clipped(shown(value), 400)))]),
  );
}

function changeKind(change) {
  if (change.old === null || change.old === undefined) return "added";
  if (change.new === null || change.new === undefined) return "removed";
  return "changed";
}

function diffTable(diff) {
  if (diff.changes.length === 0) return h("p", { className: "quiet" }, t("audit.noChanges"));
  return h(
    "table",
    { className: "diff" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("audit.field")),
        h("th", { scope: "col" }, t("audit.change")),
        h("th", { scope: "col" }, t("audit.atVersion", { version: diff.from_version })),
        h("th", { scope: "col" }, t("audit.atVersion", { version: diff.to_version })),
      ),
    ),
    h(
      "tbody",
      {},
      diff.changes.map((change) => {
        const kind = changeKind(change);
        return h(
          "tr",
          { "data-field": change.field, className: kind },
          h("th", { scope: "row" }, change.field),
          h("td", {}, t(`audit.${kind}`)),
          h("td", { className: "old" }, h("code", {}, clipped(shown(change.old), 400))),
          h("td", { className: "new" }, h("code", {}, clipped(shown(change.new), 400))),
        );
      }),
    ),
  );
}

/**
 * The version picker: a slider (and the number it stands at) that shows the aggregate at
 * that version, a second one for the version to compare it with, and a moment (as
 * recorded by then) that moves the first slider to the version of that moment.
 */
function versions(base, current) {
  const stateBox = h("div", { id: "state" });
  const diffBox = h("div", { id: "diff" });
  const eventsBox = h("div", { id: "diff-events" });
  const about = h("p", { id: "version-about", className: "quiet", role: "status" });
  const slider = (id, labelKey, value) => {
    const input = h("input", { type: "range", id, min: 1, max: current, step: 1, value });
    const number = h("output", { htmlFor: id, id: `${id}-number` }, String(value));
    input.addEventListener("input", () => {
      number.textContent = input.value;
    });
    return { input, number, row: h("div", { className: "slider" }, h("label", { htmlFor: id }, t(labelKey)), input, number, h("span", { className: "quiet" }, ` / ${current}`)) };
  };
  const at = slider("version", "audit.version", current);
  const other = slider("compare", "audit.compareWith", current);
  const moment = h("input", { type: "datetime-local", id: "as-of", step: 1 });
  let asked = 0;

  async function showState(query) {
    const mine = ++asked;
    let state;
    try {
      state = await call("GET", `${base}/state`, { query });
    } catch (error) {
      if (mine !== asked) return;
      return failed(stateBox, error);
    }
    if (mine !== asked) return;
    at.input.value = state.version;
    at.number.textContent = String(state.version);
    about.textContent = t("audit.versionMadeBy", {
      version: state.version,
      event: state.event_name,
      actor: state.actor,
      occurred: when(state.occurred_at),
      recorded: when(state.recorded_at),
    });
    stateBox.replaceChildren(h("h3", {}, t("audit.stateAt", { version: state.version })), stateList(state.state));
    await showDiff();
  }

  async function showDiff() {
    const a = Number(at.input.value);
    const b = Number(other.input.value);
    if (a === b) {
      diffBox.replaceChildren(h("h3", {}, t("audit.diffTitle")), h("p", { className: "quiet" }, t("audit.sameVersion", { version: a })));
      eventsBox.replaceChildren();
      return;
    }
    const [from, to] = a < b ? [a, b] : [b, a];
    try {
      const diff = await call("GET", `${base}/diff`, { query: { from, to } });
      if (Number(at.input.value) !== a || Number(other.input.value) !== b) return; // moved since
      diffBox.replaceChildren(h("h3", {}, t("audit.diffBetween", { from, to })), diffTable(diff));
      eventsBox.replaceChildren(
        h("h4", {}, t("audit.eventsBetween")),
        h(
          "ol",
          {},
          diff.events.map((e) => h("li", {}, h("span", { className: "tag" }, e.name), ` v${e.version} · ${t("audit.by", { actor: e.actor })} · ${when(e.occurred_at)} / ${when(e.recorded_at)}`)),
        ),
      );
    } catch (error) {
      failed(diffBox, error);
    }
  }

  at.input.addEventListener("change", () => showState({ version: at.input.value }));
  other.input.addEventListener("change", () => showDiff());
  const byDate = h(
    "form",
    {
      id: "as-of-form",
      className: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        if (!moment.value) return;
        const instant = new Date(moment.value); // the browser's own time zone
        if (Number.isNaN(instant.getTime())) return;
        return showState({ as_of: instant.toISOString() });
      },
    },
    h("label", { htmlFor: "as-of" }, t("audit.asOf")),
    moment,
    h("button", { type: "submit" }, t("audit.showAsOf")),
  );
  const section = h(
    "section",
    { id: "versions", className: "card wide" },
    h("h2", {}, t("audit.versions")),
    at.row,
    other.row,
    byDate,
    about,
    h("div", { className: "columns even" }, stateBox, h("div", {}, diffBox, eventsBox)),
  );
  return { section, show: () => showState({ version: at.input.value }) };
}

// --- a customer's audit package -----------------------------------------------------------------

async function download(path, fallbackName) {
  const response = await fetchRaw(path, { headers: { Accept: "application/zip, application/json" } });
  const disposition = response.headers.get("content-disposition") || "";
  const named = disposition.match(/filename="([^"]+)"/);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const anchor = h("a", { href: url, download: named ? named[1] : fallbackName, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  // The download has its own copy once started; the address is let go a while later.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}

function packageButton(id) {
  const message = h("span", { id: "package-message", role: "status" });
  const button = h(
    "button",
    {
      type: "button",
      id: "download-package",
      onclick: async () => {
        button.disabled = true;
        message.className = "quiet";
        message.textContent = t("audit.packing");
        try {
          const size = await download(`/v1/relationships/${id}/audit-package`, `audit-package-${id}.zip`);
          message.className = "ok";
          message.textContent = t("audit.downloaded", { size });
        } catch (error) {
          if (error instanceof Unauthorized) return signedOut();
          message.className = "error";
          message.textContent = problemText(error);
        } finally {
          button.disabled = false;
        }
      },
    },
    t("audit.download"),
  );
  return h("p", { className: "actions" }, button, " ", h("span", { className: "quiet" }, t("audit.packageIntro")), " ", message);
}

// --- the pages -----------------------------------------------------------------------------------

async function customerAudit(view, id) {
  const now = await call("GET", `/v1/relationships/${id}/state`);
  const picker = versions(`/v1/relationships/${id}`, now.version);
  const history = timeline(id);
  view.replaceChildren(
    h("p", {}, link("/console/audit", t("audit.title"))),
    h("h1", {}, t("audit.customerTitle", { name: now.state.name })),
    h("p", { className: "quiet" }, link(`/console/customers/${id}`, t("audit.customerPage")), ` · ${id}`),
    packageButton(id),
    picker.section,
    history.section,
  );
  await Promise.all([picker.show(), history.show()]);
}

async function shipmentAudit(view, id) {
  const now = await call("GET", `/v1/shipments/${id}/state`);
  const customerId = now.state.customer_id;
  const picker = versions(`/v1/shipments/${id}`, now.version);
  const history = timeline(customerId, id);
  view.replaceChildren(
    h("p", {}, link("/console/audit", t("audit.title")), " · ", link(`/console/audit/customers/${customerId}`, t("audit.customerHistory"))),
    h("h1", {}, t("audit.shipmentTitle", { reference: now.state.reference })),
    h("p", { className: "quiet" }, id),
    picker.section,
    history.section,
  );
  await Promise.all([picker.show(), history.show()]);
}

function guarded(roles, page) {
  return async (view, ...args) => {
    if (!may(session.me, roles)) {
      view.replaceChildren(h("p", { role: "alert", className: "error" }, t("error.forbidden")));
      return;
    }
    return page(view, ...args);
  };
}

const UUID = "([0-9a-fA-F-]{36})";

export const routes = [
  [/^\/console\/audit$/, guarded(AUDIT, auditHome)],
  [/^\/console\/audit\/findings$/, guarded(OVERSIGHT, findingsPage)],
  [new RegExp(`^/console/audit/customers/${UUID}$`), guarded(AUDIT, customerAudit)],
  [new RegExp(`^/console/audit/shipments/${UUID}$`), guarded(AUDIT, shipmentAudit)],
];

export const nav = [
  { href: "/console/audit", key: "nav.audit", show: (me) => may(me, AUDIT) },
  { href: "/console/audit/findings", key: "nav.findings", show: (me) => may(me, OVERSIGHT) },
];
