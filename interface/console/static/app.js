// The console: one page, its views chosen by the address; plain ES modules, no build step.

import { Problem, Unauthorized, call, forgetToken, keepToken, newKey, token } from "./api.js";
import { language, locale, setLanguage, t, tOr } from "./i18n.js";

const CHANNELS = ["visit", "call", "email", "meeting", "message", "portal"];
const DIRECTIONS = ["outbound", "inbound"];
const SIGN_IN = "/console/sign-in";

/** An element with attributes (`on…` are listeners) and children (text or elements). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name in element && name !== "list") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== undefined && child !== null && child !== false) element.append(child);
  }
  return element;
}

function link(href, ...children) {
  return h("a", { href, "data-link": "" }, ...children);
}

function when(iso, timeZone) {
  if (!iso) return "—";
  const options = { dateStyle: "medium", timeStyle: "short" };
  if (timeZone) options.timeZone = timeZone;
  return new Intl.DateTimeFormat(locale(), options).format(new Date(iso));
}

function problemText(error) {
  if (error instanceof Problem) {
    if (error.status === 404) return t("error.notFound");
    const fields = (error.body.errors || []).map((e) => `${e.field}: ${e.reason}`).join("; ");
    return t("error.generic", { status: error.status, detail: fields || error.message });
  }
  return t("log.network");
}

export function go(path) {
  history.pushState(null, "", path);
  render();
}

// --- the bar on every page -----------------------------------------------------------------

function bar(signedIn, query = "") {
  const switcher = h(
    "button",
    {
      type: "button",
      id: "language",
      title: t("lang.switch"),
      onclick: () => {
        setLanguage(language() === "zh" ? "en" : "zh");
        render();
      },
    },
    t("lang.other"),
  );
  const parts = [h("strong", { className: "brand" }, link("/", t("app.title")))];
  if (signedIn) {
    const input = h("input", {
      type: "search",
      name: "q",
      value: query,
      placeholder: t("search.placeholder"),
      "aria-label": t("search.label"),
      required: true,
    });
    parts.push(
      h(
        "form",
        {
          role: "search",
          className: "search",
          onsubmit: (event) => {
            event.preventDefault();
            const q = input.value.trim();
            if (q) go(`/console/search?q=${encodeURIComponent(q)}`);
          },
        },
        input,
        h("button", { type: "submit" }, t("search.go")),
      ),
      h("nav", {}, link("/", t("nav.myDay")), h("a", { href: "/docs" }, t("nav.docs"))),
    );
  }
  parts.push(switcher);
  if (signedIn) {
    parts.push(
      h(
        "button",
        {
          type: "button",
          onclick: () => {
            forgetToken();
            go(SIGN_IN);
          },
        },
        t("nav.signOut"),
      ),
    );
  }
  document.getElementById("bar").replaceChildren(...parts);
}

// --- sign in -------------------------------------------------------------------------------

let signInNotice = "";

function signIn(view) {
  const input = h("input", {
    type: "password",
    name: "token",
    id: "token",
    autocomplete: "off",
    required: true,
  });
  const status = h("p", { role: "alert", className: "error" }, signInNotice);
  signInNotice = "";
  view.replaceChildren(
    h("h1", {}, t("signIn.title")),
    h("p", { className: "quiet" }, t("signIn.intro")),
    h(
      "form",
      {
        className: "card",
        onsubmit: async (event) => {
          event.preventDefault();
          keepToken(input.value.trim());
          try {
            await call("GET", "/v1/staff/me");
            go("/");
          } catch (error) {
            forgetToken();
            status.textContent = error instanceof Unauthorized ? t("signIn.refused") : problemText(error);
          }
        },
      },
      h("label", { htmlFor: "token" }, t("signIn.token")),
      input,
      h("button", { type: "submit" }, t("signIn.go")),
      status,
    ),
  );
}

// --- my day --------------------------------------------------------------------------------

async function myDay(view) {
  const [me, day] = await Promise.all([call("GET", "/v1/staff/me"), call("GET", "/v1/my-day")]);
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

// --- search --------------------------------------------------------------------------------

async function search(view, q) {
  if (!q) return go("/");
  const page = await call("GET", "/v1/search", { query: { q } });
  view.replaceChildren(
    h("h1", {}, t("search.title", { q })),
    page.items.length === 0
      ? h("p", { className: "quiet" }, t("search.none", { q }))
      : h(
          "ul",
          { className: "hits" },
          page.items.map((hit) =>
            h(
              "li",
              {},
              h("span", { className: "tag" }, t(`search.kind.${hit.kind}`)),
              " ",
              link(`/console/customers/${hit.relationship_id}`, hit.label),
              hit.label === hit.relationship_name ? null : h("span", { className: "quiet" }, ` · ${hit.relationship_name}`),
              h("span", { className: "quiet" }, ` · ${hit.branch} · ${hit.matched}`),
            ),
          ),
        ),
  );
}

// --- a customer ----------------------------------------------------------------------------

async function customer(view, id) {
  // What the page shows, and the version the interaction form sends as If-Match.
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

  // The form: one Idempotency-Key per fill, so a double click, or a resubmit after a lost
  // answer, logs the interaction once; If-Match carries the version the page shows.
  const channel = h("select", { name: "channel", id: "channel" }, CHANNELS.map((c) => h("option", { value: c }, t(`channel.${c}`))));
  const direction = h("select", { name: "direction", id: "direction" }, DIRECTIONS.map((d) => h("option", { value: d }, t(`direction.${d}`))));
  const contact = h("select", { name: "contact_id", id: "contact" });
  const summary = h("textarea", { name: "summary", id: "summary", rows: 3, maxLength: 2000 });
  const submit = h("button", { type: "submit" }, t("log.submit"));
  const message = h("div", { id: "log-message", role: "status" });
  let key = newKey();
  let keyFor = null; // the request the key was first sent with
  let busy = false;

  function fillContacts() {
    const chosen = contact.value;
    contact.replaceChildren(
      h("option", { value: "" }, t("log.noContact")),
      ...shown.contacts.filter((c) => !c.removed).map((c) => h("option", { value: c.contact_id }, c.name)),
    );
    contact.value = chosen;
  }

  function say(text, kind, ...extra) {
    message.className = kind;
    message.replaceChildren(h("span", {}, text), ...extra);
  }

  const form = h(
    "form",
    {
      id: "log-interaction",
      className: "card",
      onsubmit: async (event) => {
        event.preventDefault();
        if (busy) return;
        const body = { channel: channel.value, direction: direction.value, summary: summary.value.trim() };
        if (contact.value) body.contact_id = contact.value;
        if (!body.summary) return say(t("log.summaryRequired"), "error");
        const request = JSON.stringify(body);
        if (keyFor !== null && keyFor !== request) key = newKey(); // another request: another key
        keyFor = request;
        busy = true;
        submit.disabled = true;
        say(t("log.sending"), "quiet");
        try {
          const accepted = await call("POST", `/v1/relationships/${id}/interactions`, {
            body,
            headers: { "If-Match": `"${shown.status.version}"`, "Idempotency-Key": key },
          });
          form.reset();
          key = newKey();
          keyFor = null;
          await load(accepted.position); // read your own write
          say(t("log.done"), "ok");
        } catch (error) {
          if (error instanceof Unauthorized) return signedOut();
          if (error instanceof Problem && error.status === 412) {
            const review = h("button", { type: "button", onclick: () => load().then(() => say("", "")) }, t("log.review"));
            say(t("log.stale"), "error", " ", review);
          } else {
            say(problemText(error), "error");
          }
        } finally {
          busy = false;
          submit.disabled = false;
        }
      },
    },
    h("h2", {}, t("log.title")),
    h("label", { htmlFor: "channel" }, t("log.channel")),
    channel,
    h("label", { htmlFor: "direction" }, t("log.direction")),
    direction,
    h("label", { htmlFor: "contact" }, t("log.contact")),
    contact,
    h("label", { htmlFor: "summary" }, t("log.summary")),
    summary,
    submit,
    message,
  );

  await load();
  view.replaceChildren(title, h("div", { className: "columns" }, h("div", {}, statusBox, contactsBox), h("div", {}, form, timelineBox)));
}

/** The token is gone or was refused: back to sign-in, saying why. */
function signedOut() {
  signInNotice = t("signIn.expired");
  history.replaceState(null, "", SIGN_IN);
  return render();
}

// --- the router ----------------------------------------------------------------------------

const PAGES = [
  [/^\/$/, (view) => myDay(view)],
  [/^\/console\/search$/, (view) => search(view, new URLSearchParams(location.search).get("q") || "")],
  [/^\/console\/customers\/([0-9a-fA-F-]{36})$/, (view, id) => customer(view, id)],
];

export async function render() {
  const view = document.getElementById("view");
  document.title = t("app.title");
  const path = location.pathname;
  if (path === SIGN_IN || !token()) {
    if (path !== SIGN_IN) history.replaceState(null, "", SIGN_IN);
    bar(false);
    return signIn(view);
  }
  bar(true, path === "/console/search" ? new URLSearchParams(location.search).get("q") || "" : "");
  const match = PAGES.map(([pattern, page]) => [path.match(pattern), page]).find(([found]) => found);
  if (!match) {
    view.replaceChildren(h("p", { className: "error" }, t("error.notFound")));
    return;
  }
  const [found, page] = match;
  view.setAttribute("aria-busy", "true");
  try {
    await page(view, ...found.slice(1));
  } catch (error) {
    if (error instanceof Unauthorized) return signedOut();
    view.replaceChildren(h("p", { role: "alert", className: "error" }, problemText(error)));
  } finally {
    view.removeAttribute("aria-busy");
  }
}

// A link made by `make run` carries the demo's token in its fragment (never sent to a server).
if (location.hash.startsWith("#token=")) {
  keepToken(decodeURIComponent(location.hash.slice("#token=".length)));
  history.replaceState(null, "", location.pathname + location.search);
}
setLanguage(language());
document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[data-link]");
  if (!anchor || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  go(anchor.getAttribute("href"));
});
addEventListener("popstate", render);
render();
