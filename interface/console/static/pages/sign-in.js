// Sign in.

import { Unauthorized, call, forgetToken, keepToken } from "../api.js";
import { go, h, problemText, session } from "../dom.js";
import { t } from "../i18n.js";

export function signIn(view) {
  const input = h("input", {
    type: "password",
    name: "token",
    id: "token",
    autocomplete: "off",
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
          keepToken(input.value.trim());
          try {
            session.me = await call("GET", "/v1/staff/me");
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
