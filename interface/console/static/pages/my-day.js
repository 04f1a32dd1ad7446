// My day: the home page of staff — follow-ups overdue, due today and upcoming, each
// completed from the list (a `commandForm`: If-Match of the follow-up's version,
// Idempotency-Key, read-your-writes), and the team's recent visits (GET /v1/activity).

import { call } from "../api.js";
import { h, link, session, when } from "../dom.js";
import { t, tOr } from "../i18n.js";
import { completeFollowUpForm, fresh, may, unlessRefused } from "./customer.js";

// docs/permissions.md: who may complete a follow-up.
const COMPLETERS = ["field_staff", "office_staff", "branch_manager", "hq"];

async function myDay(view) {
  const notice = h("p", { id: "my-day-notice", role: "status", className: "ok" });
  const heading = h("h1", {}, t("myDay.title"));

  async function load(minPosition) {
    const query = fresh(minPosition);
    const [me, day, visits] = await Promise.all([
      session.me ? Promise.resolve(session.me) : call("GET", "/v1/staff/me"),
      unlessRefused(call("GET", "/v1/my-day", { query })), // an auditor has no day of follow-ups
      unlessRefused(call("GET", "/v1/activity", { query: { ...query, channel: "visit", limit: 10 } })),
    ]);
    const done = async (accepted) => {
      await load(accepted.position);
      notice.textContent = t("followUps.completed");
    };
    const zone = day ? day.time_zone : undefined;
    const bucket = (id, title, part) =>
      h(
        "section",
        { id, className: "bucket" },
        h("h2", {}, `${title} (${part.count})`),
        part.items.length === 0
          ? h("p", { className: "quiet" }, t("myDay.none"))
          : h(
              "ul",
              {},
              part.items.map((item) =>
                h(
                  "li",
                  { className: item.overdue ? "overdue" : "", "data-follow-up": item.follow_up_id },
                  h("time", { dateTime: item.due_at }, when(item.due_at, zone)),
                  " ",
                  h("span", { className: "tag" }, tOr(`followUp.${item.kind}`, item.kind)),
                  " ",
                  link(`/console/customers/${item.relationship_id}`, item.relationship_name || item.relationship_id),
                  item.note ? h("span", { className: "quiet" }, ` — ${item.note}`) : null,
                  may(COMPLETERS) ? completeFollowUpForm(item, done) : null,
                ),
              ),
            ),
        part.items.length < part.count
          ? h("p", { className: "quiet" }, t("myDay.more", { shown: part.items.length, count: part.count }))
          : null,
      );
    const team =
      visits === null
        ? null
        : h(
            "section",
            { id: "team-visits", className: "bucket" },
            h("h2", {}, t("myDay.teamVisits")),
            visits.items.length === 0
              ? h("p", { className: "quiet" }, t("myDay.noVisits"))
              : h(
                  "ul",
                  {},
                  visits.items.map((entry) =>
                    h(
                      "li",
                      { "data-entry": entry.entry_id },
                      h("time", { dateTime: entry.occurred_at }, when(entry.occurred_at, zone)),
                      " ",
                      h("span", { className: "who" }, entry.staff_name || entry.staff),
                      " · ",
                      link(`/console/customers/${entry.relationship_id}`, entry.relationship_name),
                      entry.contact_name ? h("span", { className: "quiet" }, ` → ${entry.contact_name}`) : null,
                      h("p", { className: "summary quiet" }, entry.summary),
                    ),
                  ),
                ),
          );
    const parts = [
      heading,
      h(
        "p",
        { className: "quiet" },
        t("signIn.as", { name: me.name, branch: me.branch }),
        day ? [" · ", t("myDay.today", { today: day.today, zone: day.time_zone })] : null,
      ),
      notice,
      day
        ? [
            bucket("overdue", t("myDay.overdue"), day.overdue),
            bucket("due-today", t("myDay.dueToday"), day.due_today),
            bucket("upcoming", t("myDay.upcoming"), day.upcoming),
          ]
        : h("p", { className: "quiet" }, t("myDay.noDay")),
      team,
    ];
    view.replaceChildren(...parts.flat(Infinity).filter((part) => part !== null && part !== undefined && part !== false));
  }

  await load();
}

export const routes = [[/^\/$/, (view) => myDay(view)]];
export const nav = [{ href: "/", key: "nav.myDay", show: () => true }];
