// Sign in: a staff id and password (or the one-time link `fullchain staff sign-in-link`
// prints) open a session; the browser keeps its cookie, the page never sees it.

import { Problem, Unauthorized, call, openSession } from "../api.js";
import { go, h, problemText, session } from "../dom.js";
import { t } from "../i18n.js";

function refusal(error, refused) {
  if (error instanceof Unauthorized) return t(refused);
  if (error instanceof Problem && error.status === 429) return t("signIn.tooMany");
  return problemText(error);
}

async function enter() {
  session.me = await call("GET", "/v1/staff/me");
  return go("/");
}

/** A one-time link's secret (from the address's fragment, never sent to a server). */
export async function signInWithLink(view, secret) {
  try {
    await openSession({ link: secret });
    return await enter();
  } catch (error) {
    session.notice = refusal(error, "signIn.linkRefused");
    return signIn(view);
  }
}

export function signIn(view) {
  const staffId = h("input", {
    type: "text",
    name: "staff_id",
    id: "staff-id",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: false,
    required: true,
  });
  const password = h("input", {
    type: "password",
    name: "password",
    id: "password",
    autocomplete: "current-password",
    required: true,
  });
  const status = h("p", { role: "alert", className: "error" }, session.notice);
  session.notice = "";
  view.replaceChildren(
    h("h1", {}, t("signIn.title")),
    h("p", { className: "quiet" }, t("signIn.intro")),
    h(
      "form",
      {
        className: "card",
        onsubmit: async (event) => {
          event.preventDefault();
          status.textContent = "";
          try {
            await openSession({ staff_id: staffId.value.trim(), password: password.value });
            password.value = "";
            await enter();
          } catch (error) {
            password.value = "";
            status.textContent = refusal(error, "signIn.refused");
          }
        },
      },
      h("label", { htmlFor: "staff-id" }, t("signIn.staffId")),
      staffId,
      h("label", { htmlFor: "password" }, t("signIn.password")),
      password,
      h("button", { type: "submit" }, t("signIn.go")),
      status,
    ),
  );
}
