// Marketing (市场管理): segments (their member counts and members) and campaigns with their
// results per branch (reached, responded, prospects, opportunities, won, spent, cost per won
// customer); branch managers and headquarters define segments and plan campaigns.

import { call } from "../api.js";
import { day, h, link, money, session } from "../dom.js";
import { commandForm } from "../forms.js";
import { t, tOr } from "../i18n.js";
import { bars } from "./charts.js";

const READERS = ["field_staff", "office_staff", "branch_manager", "hq", "auditor"];
const MARKETERS = ["branch_manager", "hq"];

const reads = (me) => me.roles.some((role) => READERS.includes(role));
const markets = (me) => me.roles.some((role) => MARKETERS.includes(role));

function tableOf(columns, rows, attributes = {}) {
  return h(
    "table",
    attributes,
    h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell, className]) => h("td", { className: className || "" }, cell(row)))))),
  );
}

/** A comma-separated entry as a list, or undefined when empty. */
function listOf(text) {
  const values = text
    .split(/[,，]/)
    .map((v) => v.trim())
    .filter(Boolean);
  return values.length ? values : undefined;
}

function segmentForm(done) {
  const name = h("input", { id: "segment-name", name: "name", maxLength: 200 });
  const description = h("input", { id: "segment-description", name: "description", maxLength: 2000 });
  const industries = h("input", { id: "segment-industries", name: "industries", placeholder: "electronics, textiles" });
  const regions = h("input", { id: "segment-regions", name: "regions" });
  const branches = h("input", { id: "segment-branches", name: "branches" });
  return commandForm({
    id: "define-segment",
    title: t("marketing.defineSegment"),
    submit: t("marketing.defineSegment.submit"),
    fields: [
      ["segment-name", t("marketing.name"), name],
      ["segment-description", t("marketing.description"), description],
      ["segment-industries", t("marketing.industries"), industries],
      ["segment-regions", t("marketing.regions"), regions],
      ["segment-branches", t("marketing.branches"), branches],
    ],
    body: () => {
      if (!name.value.trim()) return t("marketing.nameRequired");
      const rules = {};
      for (const [key, input] of [["industries", industries], ["regions", regions], ["branches", branches]]) {
        const values = listOf(input.value);
        if (values) rules[key] = values;
      }
      const body = { name: name.value.trim(), rules };
      if (description.value.trim()) body.description = description.value.trim();
      return body;
    },
    send: (body, headers) => call("POST", "/v1/segments", { body, headers }),
    done,
    doneText: t("marketing.defined"),
  });
}

function campaignForm(segment, offerings, done) {
  const name = h("input", { id: "campaign-name", name: "name", maxLength: 200 });
  const offering = h("select", { id: "campaign-offering", name: "offering_id" }, offerings.map((o) => h("option", { value: o.offering_id }, o.label || o.name)));
  const starts = h("input", { id: "campaign-starts", name: "starts_on", type: "date" });
  const ends = h("input", { id: "campaign-ends", name: "ends_on", type: "date" });
  const budget = h("input", { id: "campaign-budget", name: "budget", inputMode: "decimal" });
  const currency = h("input", { id: "campaign-currency", name: "currency", maxLength: 3, value: "CNY" });
  return commandForm({
    id: "plan-campaign",
    title: t("marketing.planCampaign"),
    submit: t("marketing.planCampaign.submit"),
    fields: [
      ["campaign-name", t("marketing.name"), name],
      ["campaign-segment", t("marketing.segment"), segment],
      ["campaign-offering", t("marketing.offering"), offering],
      ["campaign-starts", t("marketing.startsOn"), starts],
      ["campaign-ends", t("marketing.endsOn"), ends],
      ["campaign-budget", t("marketing.budget"), budget],
      ["campaign-currency", t("marketing.currency"), currency],
    ],
    body: () => {
      if (!name.value.trim() || !segment.value || !offering.value || !starts.value || !ends.value || !budget.value.trim()) {
        return t("marketing.allRequired");
      }
      return {
        name: name.value.trim(),
        segment_id: segment.value,
        offering_id: offering.value,
        starts_on: starts.value,
        ends_on: ends.value,
        budget: budget.value.trim(),
        currency: currency.value.trim(),
      };
    },
    send: (body, headers) => call("POST", "/v1/campaigns", { body, headers }),
    done,
    doneText: t("marketing.planned"),
  });
}

async function marketing(view) {
  const me = session.me;
  const segmentsBox = h("section", { id: "segments" });
  const campaignsBox = h("section", { id: "campaigns" });
  let segmentChoice = null; // the campaign form's list of segments, kept current

  async function load(minPosition) {
    const query = minPosition === undefined ? {} : { min_position: minPosition };
    const [segments, campaigns] = await Promise.all([
      call("GET", "/v1/segments", { query: { ...query, limit: 100 } }),
      call("GET", "/v1/campaigns", { query: { ...query, limit: 100 } }),
    ]);
    const names = Object.fromEntries(segments.items.map((s) => [s.segment_id, s.name]));
    segmentsBox.replaceChildren(
      h("h2", {}, t("marketing.segments")),
      segments.items.length === 0
        ? h("p", { className: "quiet" }, t("decisions.none"))
        : tableOf(
            [
              [t("marketing.segment"), (s) => link(`/console/marketing/segments/${s.segment_id}`, s.name)],
              [t("marketing.owner"), (s) => s.owner_branch || t("marketing.headquarters")],
              [t("marketing.state"), (s) => tOr(`marketing.state.${s.state}`, s.state)],
              [t("marketing.members"), (s) => String(s.member_count), "number"],
            ],
            segments.items,
            { id: "segments-table" },
          ),
    );
    campaignsBox.replaceChildren(
      h("h2", {}, t("marketing.campaigns")),
      campaigns.items.length === 0
        ? h("p", { className: "quiet" }, t("decisions.none"))
        : tableOf(
            [
              [t("marketing.campaign"), (c) => link(`/console/marketing/campaigns/${c.campaign_id}`, c.name)],
              [t("marketing.segment"), (c) => names[c.segment_id] || c.segment_id],
              [t("marketing.period"), (c) => `${day(c.starts_on)} – ${day(c.ends_on)}`],
              [t("marketing.budget"), (c) => money(c.budget, c.currency), "number"],
              [t("marketing.spent"), (c) => money(c.spent, c.currency), "number"],
              [t("marketing.state"), (c) => tOr(`marketing.state.${c.state}`, c.state)],
            ],
            campaigns.items,
            { id: "campaigns-table" },
          ),
    );
    if (segmentChoice) {
      const chosen = segmentChoice.value;
      segmentChoice.replaceChildren(
        ...segments.items.filter((s) => s.state === "active").map((s) => h("option", { value: s.segment_id }, s.name)),
      );
      if (chosen) segmentChoice.value = chosen;
    }
  }

  const parts = [h("h1", {}, t("marketing.title")), segmentsBox, campaignsBox];
  if (markets(me)) {
    const offerings = await call("GET", "/v1/offerings", { query: { limit: 100 } });
    segmentChoice = h("select", { id: "campaign-segment", name: "segment_id" });
    const reload = (accepted) => load(accepted.position); // read your own write
    parts.push(
      h(
        "div",
        { className: "forms" },
        segmentForm(reload),
        campaignForm(segmentChoice, offerings.items.filter((o) => o.status === "active"), reload),
      ),
    );
  }
  await load();
  view.replaceChildren(...parts);
}

async function segment(view, id) {
  const [record, members] = await Promise.all([
    call("GET", `/v1/segments/${id}`),
    call("GET", `/v1/segments/${id}/members`, { query: { limit: 100 } }),
  ]);
  const rules = Object.entries(record.rules || {}).filter(([, value]) => value !== null && value !== undefined);
  view.replaceChildren(
    h("p", {}, link("/console/marketing", t("marketing.back"))),
    h("h1", {}, record.name),
    record.description ? h("p", {}, record.description) : null,
    h(
      "dl",
      {},
      rules.map(([key, value]) => [h("dt", {}, key), h("dd", {}, Array.isArray(value) ? value.join(", ") : JSON.stringify(value))]),
      h("dt", {}, t("marketing.members")),
      h("dd", { id: "member-count" }, String(members.member_count)),
    ),
    members.items.length === 0
      ? h("p", { className: "quiet" }, t("decisions.none"))
      : tableOf(
          [
            [t("decisions.customer"), (m) => link(`/console/customers/${m.relationship_id}`, m.name)],
            [t("decisions.branch"), (m) => m.branch],
            [t("decisions.filter.industry"), (m) => m.industry],
            [t("decisions.filter.region"), (m) => m.region],
            [t("decisions.status"), (m) => tOr(`lifecycle.${m.lifecycle}`, m.lifecycle)],
          ],
          members.items,
          { id: "members-table" },
        ),
  );
}

const FIGURES = [
  ["reached", "marketing.reached"],
  ["responded", "marketing.responded"],
  ["prospects_registered", "marketing.prospects"],
  ["opportunities_opened", "marketing.opportunities"],
  ["opportunities_won", "marketing.opportunitiesWon"],
  ["customers_won", "marketing.customersWon"],
];

async function campaign(view, id) {
  const [record, results] = await Promise.all([call("GET", `/v1/campaigns/${id}`), call("GET", `/v1/campaigns/${id}/results`)]);
  const currency = results.currency;
  const rows = [...results.branches, { ...results.total, branch: t("marketing.total"), total: true }];
  const wonValue = (row) => row.won_value.map((w) => money(w.amount, w.currency)).join(" · ") || "—";
  view.replaceChildren(
    h("p", {}, link("/console/marketing", t("marketing.back"))),
    h("h1", {}, record.name),
    h(
      "p",
      { className: "quiet" },
      `${tOr(`marketing.state.${record.state}`, record.state)} · ${day(record.starts_on)} – ${day(record.ends_on)} · ${t("marketing.budget")} ${money(record.budget, currency)}`,
    ),
    bars({
      id: "results-chart",
      caption: t("marketing.results.chart"),
      items: FIGURES.map(([key, label]) => ({ label: t(label), value: results.total[key] })),
    }),
    h(
      "table",
      { id: "results-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, t("decisions.branch")),
          FIGURES.map(([, label]) => h("th", { scope: "col" }, t(label))),
          h("th", { scope: "col" }, t("marketing.wonValue")),
          h("th", { scope: "col" }, t("marketing.spent")),
          h("th", { scope: "col" }, t("marketing.costPerWon")),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            { className: row.total ? "total" : "", "data-branch": row.total ? "" : row.branch },
            h("th", { scope: "row" }, row.branch),
            FIGURES.map(([key]) => h("td", { className: "number", "data-figure": key }, String(row[key]))),
            h("td", { className: "number", "data-figure": "won_value" }, wonValue(row)),
            h("td", { className: "number", "data-figure": "spent" }, money(row.spent, currency)),
            h("td", { className: "number", "data-figure": "cost_per_won_customer" }, money(row.cost_per_won_customer, currency)),
          ),
        ),
      ),
    ),
  );
}

export const routes = [
  [/^\/console\/marketing$/, (view) => marketing(view)],
  [/^\/console\/marketing\/segments\/([0-9a-fA-F-]{36})$/, (view, id) => segment(view, id)],
  [/^\/console\/marketing\/campaigns\/([0-9a-fA-F-]{36})$/, (view, id) => campaign(view, id)],
];
export const nav = [{ href: "/console/marketing", key: "nav.marketing", show: reads }];
