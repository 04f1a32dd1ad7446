// People (人员): staff scores for a week or a month (GET /v1/performance), and for managers,
// headquarters and auditors the month's proposed awards and penalties, the ranking of
// confirmed points, and the suggested next offerings per customer (销售机会挖掘).

import { call } from "../api.js";
import { go, h, link, session } from "../dom.js";
import { language, t, tOr } from "../i18n.js";
import { bars } from "./charts.js";
import { oversees, seesAllBranches } from "./decisions.js";

const READERS = ["field_staff", "office_staff", "branch_manager", "hq", "auditor"];
const reads = (me) => me.roles.some((role) => READERS.includes(role));

function tableOf(columns, rows, attributes = {}) {
  return h(
    "table",
    attributes,
    h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell, className]) => h("td", { className: className || "" }, cell(row)))))),
  );
}

const none = () => h("p", { className: "quiet" }, t("decisions.none"));

/** This month, YYYY-MM, by the browser's calendar (the page's address may name another). */
function thisMonth() {
  const now = new Date();
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
}

async function people(view) {
  const me = session.me;
  const params = new URLSearchParams(location.search);
  const period = params.get("period") || thisMonth();
  const month = /^\d{4}-\d{2}$/.test(period) ? period : null;
  const branch = seesAllBranches(me) ? params.get("branch") || undefined : undefined;
  const manager = oversees(me);
  const [performance, proposed, ranking, suggestions] = await Promise.all([
    call("GET", "/v1/performance", { query: { period, branch } }),
    manager && month ? call("GET", "/v1/incentives/proposed", { query: { period: month, branch } }) : null,
    month ? call("GET", "/v1/incentives/ranking", { query: { period: month, branch } }) : null,
    manager ? call("GET", "/v1/decisions/suggestions", { query: { branch, limit: 20 } }) : null,
  ]);

  const periodInput = h("input", { id: "people-period", name: "period", value: period, maxLength: 10, placeholder: "2026-11 / 2026-W45" });
  const branchInput = seesAllBranches(me) ? h("input", { id: "people-branch", name: "branch", value: branch || "", maxLength: 40 }) : null;
  const filters = h(
    "form",
    {
      id: "people-filters",
      className: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        const query = new URLSearchParams();
        if (periodInput.value.trim()) query.set("period", periodInput.value.trim());
        if (branchInput && branchInput.value.trim()) query.set("branch", branchInput.value.trim());
        go(`/console/people?${query}`);
      },
    },
    h("label", { htmlFor: "people-period" }, t("people.period")),
    periodInput,
    branchInput ? [h("label", { htmlFor: "people-branch" }, t("decisions.filter.branch")), branchInput] : null,
    h("button", { type: "submit" }, t("decisions.filter.apply")),
  );

  const staff = performance.staff;
  const parts = [
    h("h1", {}, t("people.title")),
    filters,
    h(
      "section",
      { id: "scores" },
      h("h2", {}, t("people.scores", { period: performance.period })),
      staff.length === 0
        ? none()
        : [
            bars({
              id: "scores-chart",
              caption: t("people.scores.chart"),
              items: staff.map((row) => ({ label: row.staff_name || row.staff_id, value: row.visits + row.calls })),
            }),
            tableOf(
              [
                [t("people.staff"), (row) => row.staff_name || row.staff_id],
                [t("decisions.branch"), (row) => row.branch],
                [t("people.visits"), (row) => String(row.visits), "number"],
                [t("people.calls"), (row) => String(row.calls), "number"],
                [t("people.followUps"), (row) => `${row.follow_ups_on_time} / ${row.follow_ups_late}`, "number"],
                [t("people.advanced"), (row) => String(row.opportunities_advanced), "number"],
                [t("people.won"), (row) => String(row.opportunities_won), "number"],
                [t("people.sla"), (row) => `${row.cases_within_sla} / ${row.cases_breached}`, "number"],
                [t("decisions.satisfaction"), (row) => (row.satisfaction === null ? "—" : row.satisfaction.toFixed(1)), "number"],
                [t("decisions.incidents"), (row) => String(row.shipment_incidents), "number"],
                [t("people.points"), (row) => (row.points === null || row.points === undefined ? "—" : String(row.points)), "number"],
              ],
              staff,
              { id: "scores-table" },
            ),
          ],
    ),
  ];
  if (proposed) {
    parts.push(
      h(
        "section",
        { id: "proposed" },
        h("h2", {}, t("people.proposed", { period: proposed.period })),
        proposed.items.length === 0
          ? none()
          : tableOf(
              [
                [t("people.staff"), (row) => row.staff_name || row.staff_id],
                [t("decisions.branch"), (row) => row.branch],
                [t("people.measure"), (row) => tOr(`measure.${row.measure}`, row.measure)],
                [t("people.points"), (row) => (row.points > 0 ? `+${row.points}` : String(row.points)), "number"],
                [t("people.source"), (row) => row.source],
              ],
              proposed.items,
              { id: "proposed-table" },
            ),
      ),
    );
  }
  if (ranking) {
    parts.push(
      h(
        "section",
        { id: "ranking" },
        h("h2", {}, t("people.ranking", { period: ranking.period })),
        ranking.staff.length === 0
          ? none()
          : tableOf(
              [
                [t("decisions.rank"), (row) => String(row.rank), "number"],
                [t("people.staff"), (row) => row.staff_name || row.staff_id],
                [t("decisions.branch"), (row) => row.branch],
                [t("people.points"), (row) => String(row.points), "number"],
                [t("people.incentives"), (row) => String(row.incentives), "number"],
              ],
              ranking.staff,
              { id: "ranking-table" },
            ),
      ),
    );
  }
  if (suggestions) {
    parts.push(
      h(
        "section",
        { id: "suggestions" },
        h("h2", {}, t("people.suggestions")),
        suggestions.items.length === 0
          ? none()
          : tableOf(
              [
                [t("decisions.customer"), (row) => link(`/console/customers/${row.relationship_id}`, row.name)],
                [t("decisions.branch"), (row) => row.branch],
                [t("marketing.offering"), (row) => row.offering_name || "—"],
                [t("people.score"), (row) => Number(row.score).toFixed(2), "number"],
                [t("people.reason"), (row) => (language() === "zh" ? row.reason_zh : row.reason_en)],
              ],
              suggestions.items,
              { id: "suggestions-table" },
            ),
      ),
    );
  }
  view.replaceChildren(...parts);
}

export const routes = [[/^\/console\/people$/, (view) => people(view)]];
export const nav = [{ href: "/console/people", key: "nav.people", show: reads }];
