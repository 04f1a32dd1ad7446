// My day: the home page of staff — follow-ups overdue, due today and upcoming.

import { call } from "../api.js";
import { h, link, when } from "../dom.js";
import { t, tOr } from "../i18n.js";

// The roles that have a day of follow-ups (GET /v1/my-day); an auditor's home page says so.
const WITH_A_DAY = ["field_staff", "office_staff", "branch_manager", "hq"];

async function myDay(view) {
  const me = await call("GET", "/v1/staff/me");
  if (!me.roles.some((role) => WITH_A_DAY.includes(role))) {
    view.replaceChildren(h("h1", {}, t("myDay.title")), h("p", { className: "quiet" }, t("signIn.as", { name: me.name, branch: me.branch }), " · ", t("myDay.noDay")));
    return;
  }
  const day = await call("GET", "/v1/my-day");
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
                { className: item.overdue ? "overdue" : "" },
                h("time", { dateTime: item.due_at }, when(item.due_at, day.time_zone)),
                " ",
                h("span", { className: "tag" }, tOr(`followUp.${item.kind}`, item.kind)),
                " ",
                link(`/console/customers/${item.relationship_id}`, item.relationship_name || item.relationship_id),
                item.note ? h("span", { className: "quiet" }, ` — ${item.note}`) : null,
              ),
            ),
          ),
      part.items.length < part.count
        ? h("p", { className: "quiet" }, t("myDay.more", { shown: part.items.length, count: part.count }))
        : null,
    );
  view.replaceChildren(
    h("h1", {}, t("myDay.title")),
    h("p", { className: "quiet" }, t("signIn.as", { name: me.name, branch: me.branch }), " · ", t("myDay.today", { today: day.today, zone: day.time_zone })),
    bucket("overdue", t("myDay.overdue"), day.overdue),
    bucket("due-today", t("myDay.dueToday"), day.due_today),
    bucket("upcoming", t("myDay.upcoming"), day.upcoming),
  );
}

export const routes = [[/^\/$/, (view) => myDay(view)]];
export const nav = [{ href: "/", key: "nav.myDay", show: () => true }];
