// Decisions (决策): the managers' and headquarters' views of GET /v1/decisions/… — pipeline,
// competitors, top customers, RFM segments, customers at risk, partners, service levels,
// value and retention per month — each a chart with a table of the same numbers, filtered
// by branch, region and industry (kept in the page's address). Branch managers see their
// own branch: the API scopes it.

import { call } from "../api.js";
import { day, go, h, link, money, session } from "../dom.js";
import { t, tOr } from "../i18n.js";
import { bars, lines } from "./charts.js";

export const OVERSIGHT = ["branch_manager", "hq", "auditor"];
const ALL_BRANCHES = ["hq", "auditor", "admin"];

export const oversees = (me) => me.roles.some((role) => OVERSIGHT.includes(role));
export const seesAllBranches = (me) => me.roles.some((role) => ALL_BRANCHES.includes(role));

const FILTERS = ["branch", "region", "industry"];

/** A share (0..1) as a percentage, or a dash. */
export function percent(share) {
  if (share === null || share === undefined) return "—";
  return `${(Number(share) * 100).toFixed(0)}%`;
}

/** Money per currency ({USD: "1.00"}) in one line. */
export function amounts(perCurrency) {
  const entries = Object.entries(perCurrency || {});
  if (entries.length === 0) return "—";
  return entries.map(([currency, amount]) => money(amount, currency)).join(" · ");
}

/** A section: its heading, then the chart and the table of the same numbers. */
export function section(id, title, ...content) {
  return h("section", { id, className: "decision" }, h("h2", {}, title), ...content);
}

function tableOf(columns, rows, attributes = {}) {
  return h(
    "table",
    attributes,
    h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", {}, columns.map(([, cell, className]) => h("td", { className: className || "" }, cell(row))))),
    ),
  );
}

const none = () => h("p", { className: "quiet" }, t("decisions.none"));

function filterForm(me, scope) {
  const inputs = {};
  const field = (name) => {
    inputs[name] = h("input", { id: `filter-${name}`, name, value: scope[name] || "", maxLength: 80 });
    return [h("label", { htmlFor: `filter-${name}` }, t(`decisions.filter.${name}`)), inputs[name]];
  };
  return h(
    "form",
    {
      id: "filters",
      className: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        const query = new URLSearchParams();
        for (const name of Object.keys(inputs)) {
          const value = inputs[name].value.trim();
          if (value) query.set(name, value);
        }
        const text = query.toString();
        go(location.pathname + (text ? `?${text}` : ""));
      },
    },
    seesAllBranches(me) ? field("branch") : h("span", { className: "quiet" }, t("decisions.ownBranch", { branch: me.branch })),
    field("region"),
    field("industry"),
    h("button", { type: "submit" }, t("decisions.filter.apply")),
  );
}

function pipelineSection(pipeline) {
  const rows = pipeline.items;
  const totals = {};
  for (const row of rows) {
    const total = (totals[row.currency] ||= { currency: row.currency, opportunities: 0, expected: 0, weighted: 0 });
    total.opportunities += row.opportunities;
    total.expected += Number(row.expected_value);
    total.weighted += Number(row.weighted_value);
  }
  const label = (row) => `${row.branch} · ${tOr(`stage.${row.stage}`, row.stage)}`;
  return section(
    "pipeline",
    t("decisions.pipeline"),
    rows.length === 0
      ? none()
      : [
          bars({
            id: "pipeline-chart",
            caption: t("decisions.pipeline.chart"),
            items: rows.map((row) => ({
              label: `${label(row)} (${row.currency})`,
              value: Number(row.expected_value),
              text: money(row.expected_value, row.currency),
            })),
          }),
          tableOf(
            [
              [t("decisions.branch"), (row) => row.branch],
              [t("decisions.stage"), (row) => tOr(`stage.${row.stage}`, row.stage)],
              [t("decisions.currency"), (row) => row.currency],
              [t("decisions.opportunities"), (row) => String(row.opportunities), "number"],
              [t("decisions.expectedValue"), (row) => money(row.expected_value, row.currency), "number"],
              [t("decisions.weightedValue"), (row) => money(row.weighted_value, row.currency), "number"],
            ],
            rows,
            { id: "pipeline-table" },
          ),
          tableOf(
            [
              [t("decisions.currency"), (row) => row.currency],
              [t("decisions.opportunities"), (row) => String(row.opportunities), "number"],
              [t("decisions.expectedValue"), (row) => money(row.expected, row.currency), "number"],
              [t("decisions.weightedValue"), (row) => money(row.weighted, row.currency), "number"],
            ],
            Object.values(totals),
            { id: "pipeline-totals", className: "totals" },
          ),
        ],
  );
}

function competitorsSection(competitors) {
  const rows = competitors.items;
  return section(
    "competitors",
    t("decisions.competitors"),
    rows.length === 0
      ? none()
      : [
          bars({
            id: "competitors-chart",
            caption: t("decisions.competitors.chart"),
            max: 1,
            items: rows.map((row) => ({
              label: row.name || row.competitor_id,
              value: Number(row.head_to_head_win_rate || 0),
              text: percent(row.head_to_head_win_rate),
            })),
          }),
          tableOf(
            [
              [t("decisions.competitor"), (row) => row.name || row.competitor_id],
              [t("decisions.competing"), (row) => String(row.competing), "number"],
              [t("decisions.wonAgainst"), (row) => String(row.won_against), "number"],
              [t("decisions.lostTo"), (row) => String(row.lost_to), "number"],
              [t("decisions.lostToOthers"), (row) => String(row.lost_to_others), "number"],
              [t("decisions.winRate"), (row) => percent(row.head_to_head_win_rate), "number"],
            ],
            rows,
            { id: "competitors-table" },
          ),
        ],
  );
}

function topCustomersSection(top) {
  const currencies = Object.entries(top.currencies);
  return section(
    "top-customers",
    t("decisions.topCustomers"),
    currencies.length === 0
      ? none()
      : currencies.map(([currency, rows]) => [
          bars({
            id: `top-customers-chart-${currency}`,
            caption: t("decisions.topCustomers.chart", { currency }),
            items: rows.map((row) => ({ label: row.name, value: Number(row.realised_value), text: money(row.realised_value, currency) })),
          }),
          tableOf(
            [
              [t("decisions.customer"), (row) => link(`/console/customers/${row.customer_id}`, row.name)],
              [t("decisions.branch"), (row) => row.branch],
              [t("decisions.realisedValue"), (row) => money(row.realised_value, currency), "number"],
              [t("decisions.potentialValue"), (row) => money(row.potential_value, currency), "number"],
              [t("decisions.modelValue"), (row) => money(row.model_value, currency), "number"],
              [t("decisions.rfm"), (row) => `${tOr(`rfm.${row.rfm.segment}`, row.rfm.segment)} (${row.rfm.code})`],
              [t("decisions.status"), (row) => (row.status ? tOr(`lifecycle.${row.status}`, row.status) : "—")],
            ],
            rows,
            { id: `top-customers-table-${currency}` },
          ),
        ]),
  );
}

function segmentsSection(segments) {
  const currencies = Object.entries(segments.currencies);
  return section(
    "rfm-segments",
    t("decisions.segments"),
    currencies.length === 0
      ? none()
      : currencies.map(([currency, rows]) => [
          bars({
            id: `rfm-chart-${currency}`,
            caption: t("decisions.segments.chart", { currency }),
            items: rows.map((row) => ({ label: tOr(`rfm.${row.segment}`, row.segment), value: row.customers })),
          }),
          tableOf(
            [
              [t("decisions.segment"), (row) => tOr(`rfm.${row.segment}`, row.segment)],
              [t("decisions.customers"), (row) => String(row.customers), "number"],
              [t("decisions.realisedValue"), (row) => money(row.realised_value, currency), "number"],
            ],
            rows,
            { id: `rfm-table-${currency}` },
          ),
        ]),
  );
}

function atRiskSection(risk) {
  const rows = risk.items;
  const counts = {};
  for (const row of rows) for (const reason of row.reasons) counts[reason.kind] = (counts[reason.kind] || 0) + 1;
  return section(
    "at-risk",
    t("decisions.atRisk"),
    rows.length === 0
      ? none()
      : [
          bars({
            id: "at-risk-chart",
            caption: t("decisions.atRisk.chart"),
            items: Object.entries(counts).map(([kind, count]) => ({ label: tOr(`risk.${kind}`, kind), value: count })),
          }),
          tableOf(
            [
              [t("decisions.customer"), (row) => link(`/console/customers/${row.customer_id}`, row.name)],
              [t("decisions.branch"), (row) => row.branch],
              [t("decisions.status"), (row) => tOr(`lifecycle.${row.lifecycle}`, row.lifecycle)],
              [t("decisions.lastBusiness"), (row) => day(row.last_business)],
              [t("decisions.realisedValue"), (row) => amounts(row.realised_value), "number"],
              [
                t("decisions.reasons"),
                (row) => h("ul", {}, row.reasons.map((reason) => h("li", {}, h("strong", {}, tOr(`risk.${reason.kind}`, reason.kind)), ` — ${reason.detail}`))),
              ],
            ],
            rows,
            { id: "at-risk-table" },
          ),
        ],
  );
}

function partnersSection(partners) {
  const rows = partners.items;
  const costs = (row) => row.costs.map((c) => `${money(c.actual_total ?? c.planned_total, c.currency)} / ${c.links_invoiced || c.links_planned}`).join(" · ") || "—";
  return section(
    "partners",
    t("decisions.partners"),
    rows.length === 0
      ? none()
      : [
          bars({
            id: "partners-chart",
            caption: t("decisions.partners.chart"),
            max: 1,
            items: rows.map((row) => ({ label: `${row.rank}. ${row.name}`, value: Number(row.on_time_share || 0), text: percent(row.on_time_share) })),
          }),
          tableOf(
            [
              [t("decisions.rank"), (row) => String(row.rank), "number"],
              [t("decisions.partner"), (row) => row.name],
              [t("decisions.linksRun"), (row) => String(row.links_run), "number"],
              [t("decisions.onTime"), (row) => percent(row.on_time_share), "number"],
              [t("decisions.incidents"), (row) => String(row.incidents_attributed), "number"],
              [t("decisions.incidentsPerLink"), (row) => (row.incidents_per_link === null ? "—" : row.incidents_per_link.toFixed(2)), "number"],
              [t("decisions.cost"), costs, "number"],
              [t("decisions.recoveryOutstanding"), (row) => amounts(row.recovery_outstanding), "number"],
            ],
            rows,
            { id: "partners-table" },
          ),
        ],
  );
}

function serviceLevelsSection(levels) {
  const rows = levels.items;
  return section(
    "service-levels",
    t("decisions.serviceLevels"),
    rows.length === 0
      ? none()
      : [
          bars({
            id: "service-levels-chart",
            caption: t("decisions.serviceLevels.chart"),
            max: 1,
            items: rows.map((row) => ({ label: row.branch, value: Number(row.first_response_compliance || 0), text: percent(row.first_response_compliance) })),
          }),
          tableOf(
            [
              [t("decisions.branch"), (row) => row.branch],
              [t("decisions.cases"), (row) => String(row.cases), "number"],
              [t("decisions.openCases"), (row) => String(row.open_cases), "number"],
              [t("decisions.firstResponse"), (row) => `${percent(row.first_response_compliance)} (${row.first_response_met}/${row.first_response_met + row.first_response_breached})`, "number"],
              [t("decisions.resolution"), (row) => `${percent(row.resolution_compliance)} (${row.resolution_met}/${row.resolution_met + row.resolution_breached})`, "number"],
              [t("decisions.satisfaction"), (row) => (row.satisfaction === null ? "—" : row.satisfaction.toFixed(1)), "number"],
            ],
            rows,
            { id: "service-levels-table" },
          ),
        ],
  );
}

function valueSection(value) {
  const rows = value.items;
  const currencies = [...new Set(rows.flatMap((row) => Object.keys(row.realised_value)))].sort();
  const points = rows.map((row) => row.period);
  const series = [
    ...currencies.map((currency) => ({
      name: t("decisions.value.realised", { currency }),
      values: rows.map((row) => Number(row.realised_value[currency] || 0)),
      texts: rows.map((row) => money(row.realised_value[currency] || 0, currency)),
    })),
    {
      name: t("decisions.retention"),
      values: rows.map((row) => (row.retention_rate === null ? null : row.retention_rate)),
      texts: rows.map((row) => percent(row.retention_rate)),
    },
  ];
  return section(
    "value-by-month",
    t("decisions.valueByMonth"),
    rows.length === 0
      ? none()
      : [
          lines({ id: "value-chart", caption: t("decisions.valueByMonth.chart"), points, series }),
          tableOf(
            [
              [t("decisions.period"), (row) => row.period + (row.complete ? "" : " *")],
              [t("decisions.activeCustomers"), (row) => String(row.active_customers), "number"],
              [t("decisions.newCustomers"), (row) => String(row.new_customers), "number"],
              [t("decisions.retained"), (row) => `${row.retained}/${row.previously_active}`, "number"],
              [t("decisions.retention"), (row) => percent(row.retention_rate), "number"],
              [t("decisions.realisedValue"), (row) => amounts(row.realised_value), "number"],
            ],
            rows,
            { id: "value-table" },
          ),
        ],
  );
}

async function decisions(view) {
  const me = session.me;
  const params = new URLSearchParams(location.search);
  const scope = {};
  for (const name of FILTERS) if (params.get(name)) scope[name] = params.get(name);
  if (!seesAllBranches(me)) delete scope.branch;
  const read = (path, extra = {}) => call("GET", `/v1/decisions/${path}`, { query: { ...scope, ...extra } });
  // One refusal (403 for staff who do not oversee) answers for the whole page.
  const [pipeline, competitors, top, segments, risk, partners, levels, value] = await Promise.all([
    read("pipeline"),
    read("competitors"),
    read("top-customers", { limit: 10 }),
    read("segments"),
    read("customers-at-risk"),
    read("partners"),
    read("service-levels"),
    read("value-by-period", { period: "month", periods: 12 }),
  ]);
  const filtered = Object.entries(scope).map(([name, value]) => `${t(`decisions.filter.${name}`)}: ${value}`);
  view.replaceChildren(
    h("h1", {}, t("decisions.title")),
    filterForm(me, scope),
    h("p", { id: "scope", className: "quiet" }, filtered.length ? filtered.join(" · ") : t("decisions.unfiltered")),
    pipelineSection(pipeline),
    competitorsSection(competitors),
    topCustomersSection(top),
    segmentsSection(segments),
    atRiskSection(risk),
    partnersSection(partners),
    serviceLevelsSection(levels),
    valueSection(value),
  );
}

export const routes = [[/^\/console\/decisions$/, (view) => decisions(view)]];
export const nav = [{ href: "/console/decisions", key: "nav.decisions", show: oversees }];
