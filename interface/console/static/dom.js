// What every page builds with: elements, links, dates, money, a refusal's words, navigation.

import { Problem } from "./api.js";
import { locale, t } from "./i18n.js";

/** An element with attributes (`on…` are listeners) and children (text or elements). */
export function h(tag, attributes = {}, ...children) {
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

/** A link inside the console: followed without reloading the page. */
export function link(href, ...children) {
  return h("a", { href, "data-link": "" }, ...children);
}

/** A moment in the user's language, in `timeZone` (the branch's) when given. */
export function when(iso, timeZone) {
  if (!iso) return "—";
  const options = { dateStyle: "medium", timeStyle: "short" };
  if (timeZone) options.timeZone = timeZone;
  return new Intl.DateTimeFormat(locale(), options).format(new Date(iso));
}

/** A day (an ISO date) in the user's language. */
export function day(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${iso.slice(0, 10)}T00:00:00Z`));
}

/** An amount (a decimal string, as the API gives it) with its currency. */
export function money(amount, currency) {
  if (amount === undefined || amount === null) return "—";
  const value = Number(amount);
  if (!currency) return new Intl.NumberFormat(locale()).format(value);
  return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(value);
}

/** What to tell the user about a refusal (a problem document) or a lost connection. */
export function problemText(error) {
  if (error instanceof Problem) {
    if (error.status === 404) return t("error.notFound");
    if (error.status === 403) return t("error.forbidden");
    const fields = (error.body.errors || []).map((e) => `${e.field}: ${e.reason}`).join("; ");
    return t("error.generic", { status: error.status, detail: fields || error.message });
  }
  return t("log.network");
}

/** A heading, then a table of `rows` with `columns` ([label key, cell of a row]). */
export function table(columns, rows, attributes = {}) {
  return h(
    "table",
    attributes,
    h("thead", {}, h("tr", {}, columns.map(([key]) => h("th", { scope: "col" }, t(key))))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))),
  );
}

/** The state every page shares: who is signed in, and a notice for the sign-in page. */
export const session = { me: null, notice: "" };

let renderer = () => Promise.resolve();

/** The router registers itself here (pages import `go`, the router imports the pages). */
export function setRenderer(render) {
  renderer = render;
}

/** Open a page of the console. */
export function go(path) {
  history.pushState(null, "", path);
  return renderer();
}

/** Draw the current page again. */
export function rerender() {
  return renderer();
}

/** The session ended (or was never there): back to sign-in, saying why. */
export function signedOut() {
  session.me = null;
  session.notice = t("signIn.expired");
  history.replaceState(null, "", "/console/sign-in");
  return renderer();
}
