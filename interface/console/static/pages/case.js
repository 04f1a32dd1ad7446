// A service case (客户服务): its kind, priority, status, SLA clocks with their due times in
// the branch's time zone, owner, first response, resolution and rating — and its commands
// (assign, respond, change priority, resolve, close, reopen), each a `commandForm` with
// If-Match of the case's version, shown only to the roles docs/permissions.md allows. And
// the list of cases: open first, filtered by status, priority and branch, paged by cursor.

import { Problem, call } from "../api.js";
import { h, link, problemText, session, table, when } from "../dom.js";
import { commandForm } from "../forms.js";
import { t, tOr } from "../i18n.js";

const PRIORITIES = ["low", "normal", "high", "urgent"];
const STATUSES = ["open", "resolved", "closed"];
const PAGE = 25;

// The roles of docs/permissions.md: respond is any staff's work; assign, escalate, resolve,
// reopen and close are service work; the list is for those who run the service desk.
const RESPONDERS = ["field_staff", "office_staff", "branch_manager", "hq"];
const SERVICE = ["office_staff", "branch_manager", "hq"];

const may = (roles) => ((session.me && session.me.roles) || []).some((role) => roles.includes(role));
const fresh = (minPosition) => (minPosition === undefined ? {} : { min_position: minPosition, wait: 10 });
const input = (id, attributes = {}) => h("input", { id, name: id, ...attributes });
const text = (id) => h("textarea", { id, name: id, rows: 2, maxLength: 2000 });
const compact = (form) => {
  form.classList.add("compact");
  return form;
};

/** The time zone of `branch` (the registry's), else the signed-in staff's day's, else the browser's. */
async function zoneOf(branch) {
  if (branch) {
    const found = await call("GET", `/v1/branches/${encodeURIComponent(branch)}`).catch(() => null);
    if (found) return found.time_zone;
  }
  const day = await call("GET", "/v1/my-day").catch(() => null);
  return day && day.time_zone ? day.time_zone : undefined;
}

async function serviceCase(view, id) {
  let shown = null;
  let zone = null;
  const title = h("h1", {});
  const notice = h("p", { id: "case-notice", role: "status", className: "ok" });
  const facts = h("section", { id: "case-facts" });
  const clocks = h("section", { id: "case-clocks" });
  const commands = h("section", { id: "case-commands", className: "commands" });

  async function load(minPosition) {
    shown = await call("GET", `/v1/cases/${id}`, { query: fresh(minPosition) });
    if (zone === null) zone = (await zoneOf(shown.branch)) || "";
    draw();
  }

  const reread = (message) => async (accepted) => {
    await load(accepted.position);
    notice.textContent = message;
  };

  function dl(rows) {
    return h("dl", {}, rows.map(([key, value]) => [h("dt", {}, t(key)), h("dd", { "data-field": key }, String(value))]));
  }

  function draw() {
    const c = shown;
    title.textContent = c.subject;
    facts.replaceChildren(
      h("h2", {}, t("case.facts")),
      dl([
        ["case.customer", c.relationship_name || c.relationship_id],
        ["case.kind", tOr(`caseKind.${c.kind}`, c.kind)],
        ["case.priority", tOr(`priority.${c.priority}`, c.priority)],
        ["case.status", tOr(`caseStatus.${c.status}`, c.status)],
        ["case.owner", c.owner || "—"],
        ["case.openedBy", `${c.opened_by} · ${when(c.opened_at, zone || undefined)}`],
        ["case.escalations", c.escalations],
        ["case.reopenings", c.reopenings],
        ["case.rating", c.satisfaction === null ? "—" : `${c.satisfaction} / 5`],
        ["case.closedAt", when(c.closed_at, zone || undefined)],
        ["case.version", c.version],
      ]),
      h("p", {}, link(`/console/customers/${c.relationship_id}`, t("case.toCustomer"))),
    );
    const clock = (due, done, breached) =>
      `${t("case.due", { when: when(due, zone || undefined) })}${done ? ` · ${t("case.doneAt", { when: when(done, zone || undefined) })}` : ""}${breached ? ` · ${t("case.breached")}` : ""}`;
    clocks.replaceChildren(
      h("h2", {}, t("case.clocks")),
      h("p", { className: "quiet", id: "case-zone" }, t("case.zone", { zone: zone || Intl.DateTimeFormat().resolvedOptions().timeZone })),
      dl([
        ["case.firstResponse", clock(c.first_response_due, c.first_responded_at, c.first_response_breached)],
        ["case.resolution", clock(c.resolution_due, c.resolved_at, c.resolution_breached)],
      ]),
      c.breached ? h("p", { className: "tag bad" }, t("cust.slaBreached")) : null,
    );
    const forms = [];
    if (c.status === "open" && may(SERVICE)) forms.push(assignForm());
    if (c.status === "open" && !c.first_responded_at && may(RESPONDERS)) forms.push(respondForm());
    if (c.status === "open" && c.priority !== "urgent" && may(SERVICE)) forms.push(priorityForm());
    if (c.status === "open" && may(SERVICE)) forms.push(resolveForm());
    if (c.status === "resolved" && may(SERVICE)) forms.push(closeForm(), reopenForm());
    commands.replaceChildren(...forms);
    commands.hidden = forms.length === 0;
  }

  /** A command on the case: If-Match of the version shown, the page read again after. */
  function caseForm(name, fields, body, done) {
    return compact(
      commandForm({
        id: `case-${name}`,
        title: t(`case.${name}.title`),
        submit: t(`case.${name}.submit`),
        doneText: t(`case.${name}.done`),
        staleText: t("case.stale"),
        fields,
        body,
        version: () => shown.version,
        send: (payload, headers) => call("POST", `/v1/cases/${id}/${name}`, { body: payload, headers }),
        done: reread(t(`case.${name}.done`)),
        review: (position) => load(position),
      }),
    );
  }

  function assignForm() {
    const owner = input("case-owner", { maxLength: 64, defaultValue: shown.owner || (session.me && session.me.staff_id) || "" });
    return caseForm("assign", [[owner.id, t("case.owner"), owner]], () =>
      owner.value.trim() ? { owner: owner.value.trim() } : t("case.ownerRequired"),
    );
  }

  function respondForm() {
    const summary = text("case-response");
    return caseForm("respond", [[summary.id, t("case.respond.summary"), summary]], () =>
      summary.value.trim() ? { summary: summary.value.trim() } : t("case.textRequired"),
    );
  }

  function priorityForm() {
    const higher = PRIORITIES.slice(PRIORITIES.indexOf(shown.priority) + 1);
    const to = h("select", { id: "case-to-priority", name: "case-to-priority" }, higher.map((p) => h("option", { value: p }, t(`priority.${p}`))));
    const reason = input("case-escalate-reason", { maxLength: 2000 });
    return caseForm(
      "escalate",
      [
        [to.id, t("case.escalate.to"), to],
        [reason.id, t("case.reason"), reason],
      ],
      () => (reason.value.trim() ? { to_priority: to.value, reason: reason.value.trim() } : t("case.reasonRequired")),
    );
  }

  function resolveForm() {
    const resolution = text("case-resolution");
    return caseForm("resolve", [[resolution.id, t("case.resolve.resolution"), resolution]], () =>
      resolution.value.trim() ? { resolution: resolution.value.trim() } : t("case.textRequired"),
    );
  }

  function closeForm() {
    const note = input("case-close-note", { maxLength: 2000 });
    return caseForm("close", [[note.id, t("case.note"), note]], () => (note.value.trim() ? { note: note.value.trim() } : {}));
  }

  function reopenForm() {
    const reason = input("case-reopen-reason", { maxLength: 2000 });
    return caseForm("reopen", [[reason.id, t("case.reason"), reason]], () =>
      reason.value.trim() ? { reason: reason.value.trim() } : t("case.reasonRequired"),
    );
  }

  try {
    await load();
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    view.replaceChildren(h("h1", {}, t("case.title")), h("p", { className: "error", role: "alert" }, problemText(error)));
    return;
  }
  view.replaceChildren(title, notice, h("div", { className: "columns" }, h("div", {}, facts, clocks), h("div", {}, commands)));
}

async function cases(view) {
  const params = new URLSearchParams(location.search);
  const status = h(
    "select",
    { id: "cases-status", name: "status" },
    h("option", { value: "" }, t("cases.anyStatus")),
    STATUSES.map((s) => h("option", { value: s }, t(`caseStatus.${s}`))),
  );
  status.value = params.has("status") ? params.get("status") : "open";
  const priority = h(
    "select",
    { id: "cases-priority", name: "priority" },
    h("option", { value: "" }, t("cases.anyPriority")),
    PRIORITIES.map((p) => h("option", { value: p }, t(`priority.${p}`))),
  );
  priority.value = params.get("priority") || "";
  // Staff of a branch see their own branch's cases only; headquarters choose a branch.
  const everyBranch = may(["hq"]);
  const branch = input("cases-branch", { maxLength: 80, defaultValue: params.get("branch") || "" });
  const body = h("tbody", {});
  const more = h("button", { type: "button", id: "cases-more", hidden: true }, t("cust.showMore"));
  const message = h("p", { id: "cases-message", role: "status" });
  let cursor = null;
  const columns = ["case.subject", "case.customer", "case.kind", "case.priority", "case.status", "case.sla", "case.owner", "cases.branch", "case.opened"];
  const list = table(columns.map((key) => [key, () => ""]), [], { id: "cases-table", className: "list" });
  list.querySelector("tbody").replaceWith(body);

  const row = (c) =>
    h(
      "tr",
      { "data-case": c.case_id },
      h("td", {}, link(`/console/cases/${c.case_id}`, c.subject)),
      h("td", {}, c.relationship_name || "—"),
      h("td", {}, tOr(`caseKind.${c.kind}`, c.kind)),
      h("td", {}, tOr(`priority.${c.priority}`, c.priority)),
      h("td", {}, tOr(`caseStatus.${c.status}`, c.status)),
      h("td", {}, c.breached ? h("span", { className: "tag bad" }, t("cust.slaBreached")) : "—"),
      h("td", {}, c.owner || "—"),
      h("td", {}, c.branch || "—"),
      h("td", {}, when(c.opened_at)),
    );

  async function read(append) {
    const query = { status: status.value, priority: priority.value, limit: PAGE };
    if (everyBranch && branch.value.trim()) query.branch = branch.value.trim();
    if (append) query.cursor = cursor;
    list.setAttribute("aria-busy", "true");
    try {
      const answer = await call("GET", "/v1/cases", { query });
      if (!append) body.replaceChildren();
      body.append(...answer.items.map(row));
      cursor = answer.next_cursor;
      more.hidden = !cursor;
      message.textContent = body.children.length === 0 ? t("cases.none") : "";
      message.className = "quiet";
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      message.textContent = problemText(error);
      message.className = "error";
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  more.addEventListener("click", () => read(true));
  const filter = h(
    "form",
    {
      id: "cases-filter",
      className: "card compact",
      onsubmit: (event) => {
        event.preventDefault();
        const query = new URLSearchParams({ status: status.value });
        if (priority.value) query.set("priority", priority.value);
        if (everyBranch && branch.value.trim()) query.set("branch", branch.value.trim());
        history.replaceState(null, "", `/console/cases?${query}`);
        read(false);
      },
    },
    h("label", { htmlFor: status.id }, t("case.status")),
    status,
    h("label", { htmlFor: priority.id }, t("case.priority")),
    priority,
    everyBranch ? [h("label", { htmlFor: branch.id }, t("cases.branch")), branch] : null,
    h("button", { type: "submit" }, t("cases.filter")),
  );
  await read(false);
  view.replaceChildren(h("h1", {}, t("cases.title")), filter, list, message, more);
}

export const routes = [
  [/^\/console\/cases$/, (view) => cases(view)],
  [/^\/console\/cases\/([0-9a-fA-F-]{36})$/, (view, id) => serviceCase(view, id)],
];
export const nav = [{ href: "/console/cases", key: "nav.cases", show: (me) => me.roles.some((role) => SERVICE.includes(role)) }];
