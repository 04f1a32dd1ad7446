// A command as a form, done the one way every command of the console is done: an
// Idempotency-Key made once per fill (a double click, or a resubmit after a lost answer,
// replays the first outcome; a different entry gets a new key), If-Match with the version
// the page shows (412: "changed since you opened it — review and retry", the form keeps
// what was typed; the review re-reads the page from the position the 412 names), and,
// after success, the page re-read with `min_position` so the user sees their own write.

import { Problem, Unauthorized, newKey } from "./api.js";
import { h, problemText, signedOut } from "./dom.js";
import { t } from "./i18n.js";

/**
 * @param {object} spec
 * @param {string} spec.id          the form's element id
 * @param {string} spec.title       its heading
 * @param {Array<[string, string, HTMLElement]>} spec.fields  [element id, label, input]
 * @param {string} spec.submit      the button's text
 * @param {() => object|string} spec.body  the request body, or a message why it cannot be sent
 * @param {(body: object, headers: object) => Promise<any>} spec.send  the API call
 * @param {(accepted: any) => Promise<void>} spec.done  after success (re-read the page)
 * @param {() => string|null} [spec.version]  the version for If-Match (null: none)
 * @param {(minPosition?: number) => Promise<void>} [spec.review] re-read the page after a 412,
 *   from the log position of the current version (the 412's `position`)
 * @param {string} [spec.doneText]
 * @param {string} [spec.staleText] what a 412 says (default: the customer's words)
 * @param {string} [spec.messageId] the id of the element that says how it went
 */
export function commandForm(spec) {
  const submit = h("button", { type: "submit" }, spec.submit);
  const message = h("div", { id: spec.messageId || `${spec.id}-message`, role: "status" });
  let key = newKey();
  let keyFor = null; // the request the key was first sent with
  let busy = false;

  function say(text, kind, ...extra) {
    message.className = kind;
    message.replaceChildren(h("span", {}, text), ...extra);
  }

  const form = h(
    "form",
    {
      id: spec.id,
      className: "card",
      onsubmit: async (event) => {
        event.preventDefault();
        if (busy) return;
        const body = spec.body();
        if (typeof body === "string") return say(body, "error");
        const request = JSON.stringify(body);
        if (keyFor !== null && keyFor !== request) key = newKey(); // another request: another key
        keyFor = request;
        busy = true;
        submit.disabled = true;
        say(t("log.sending"), "quiet");
        const headers = { "Idempotency-Key": key };
        const version = spec.version ? spec.version() : null;
        if (version !== null && version !== undefined) headers["If-Match"] = `"${version}"`;
        try {
          const accepted = await spec.send(body, headers);
          form.reset();
          key = newKey();
          keyFor = null;
          await spec.done(accepted);
          say(spec.doneText || t("log.done"), "ok");
        } catch (error) {
          if (error instanceof Unauthorized) return signedOut();
          if (error instanceof Problem && error.status === 412) {
            const review = h(
              "button",
              {
                type: "button",
                // Re-read from the position of what changed (the 412 names it): a read
                // model still behind it would show the old version again. The form sends
                // again only once the page (its version) is read.
                onclick: async () => {
                  busy = true;
                  submit.disabled = true;
                  try {
                    if (spec.review) await spec.review(error.body.position ?? undefined);
                    say("", "");
                  } catch (failed) {
                    if (failed instanceof Unauthorized) return signedOut();
                    say(problemText(failed), "error");
                  } finally {
                    busy = false;
                    submit.disabled = false;
                  }
                },
              },
              t("log.review"),
            );
            say(spec.staleText || t("log.stale"), "error", " ", review);
          } else {
            say(problemText(error), "error");
          }
        } finally {
          busy = false;
          submit.disabled = false;
        }
      },
    },
    h("h2", {}, spec.title),
    spec.fields.map(([id, label, input]) => [h("label", { htmlFor: id }, label), input]),
    submit,
    message,
  );
  return form;
}
