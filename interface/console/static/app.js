// The console: one page, its views chosen by the address; plain ES modules, no build step.
// Each page lives in `pages/` and is listed in `pages/index.js` with its routes and its
// entries in the bar; what every page builds with is in `dom.js`, commands in `forms.js`.

import { Unauthorized, call, endSession, hasSession, loadSession } from "./api.js";
import { go, h, link, problemText, session, setRenderer, signedOut } from "./dom.js";
import { language, setLanguage, t } from "./i18n.js";
import { ROUTES, isStaff, navFor, routesFor } from "./pages/index.js";
import { signIn, signInWithLink } from "./pages/sign-in.js";

const SIGN_IN = "/console/sign-in";

// --- the bar on every page -----------------------------------------------------------------

function bar(me, query = "") {
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
  if (isStaff(me)) {
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
    );
  }
  if (me) {
    parts.push(
      h(
        "nav",
        { "aria-label": t("nav.label") },
        navFor(me).map((entry) => link(entry.href, t(entry.key))),
        h("a", { href: "/docs" }, t("nav.docs")),
      ),
    );
  }
  parts.push(switcher);
  if (me) {
    parts.push(
      h(
        "button",
        {
          type: "button",
          onclick: async () => {
            try {
              await endSession();
            } catch {
              // Ended or unreachable: the page forgets the session all the same.
            }
            session.me = null;
            go(SIGN_IN);
          },
        },
        t("nav.signOut"),
      ),
    );
  }
  document.getElementById("bar").replaceChildren(...parts);
}

// --- the router ----------------------------------------------------------------------------

export async function render() {
  const view = document.getElementById("view");
  document.title = t("app.title");
  document.getElementById("skip").textContent = t("a11y.skip");
  const path = location.pathname;
  if (path === SIGN_IN && oneTimeLink) {
    const secret = oneTimeLink;
    oneTimeLink = null;
    bar(null);
    return signInWithLink(view, secret);
  }
  if (path !== SIGN_IN && !hasSession()) {
    try {
      await loadSession(); // a reloaded page: the cookie's session, if it has one
    } catch (error) {
      if (!(error instanceof Unauthorized)) {
        bar(null);
        view.replaceChildren(h("p", { role: "alert", className: "error" }, problemText(error)));
        return;
      }
    }
  }
  if (path === SIGN_IN || !hasSession()) {
    if (path !== SIGN_IN) history.replaceState(null, "", SIGN_IN);
    bar(null);
    return signIn(view);
  }
  view.setAttribute("aria-busy", "true");
  try {
    if (!session.me) session.me = await call("GET", "/v1/staff/me");
    bar(session.me, path === "/console/search" ? new URLSearchParams(location.search).get("q") || "" : "");
    const match = routesFor(session.me).map(([pattern, page]) => [path.match(pattern), page]).find(([found]) => found);
    if (!match) {
      // A page of the console that is not for this user (a staff page, to a customer's).
      const elsewhere = ROUTES.some(([pattern]) => pattern.test(path));
      view.replaceChildren(h("p", { role: "alert", className: "error" }, t(elsewhere ? "error.forbidden" : "error.notFound")));
      return;
    }
    const [found, page] = match;
    await page(view, ...found.slice(1));
  } catch (error) {
    if (error instanceof Unauthorized) return signedOut();
    view.replaceChildren(h("p", { role: "alert", className: "error" }, problemText(error)));
  } finally {
    view.removeAttribute("aria-busy");
  }
}

setRenderer(render);
// A one-time sign-in link (`make run`, `fullchain staff sign-in-link`) carries its secret in
// the fragment, never sent to a server: taken, then dropped from the address at once.
let oneTimeLink = null;
if (location.hash.startsWith("#link=")) {
  oneTimeLink = decodeURIComponent(location.hash.slice("#link=".length));
  history.replaceState(null, "", location.pathname + location.search);
}
setLanguage(language());
document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[data-link]");
  if (!anchor || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  go(anchor.getAttribute("href"));
});
// The skip link, first stop of the Tab key: past the bar to the page (without a new address).
document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("view").focus();
});
addEventListener("popstate", render);
render();
