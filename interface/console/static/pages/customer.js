// A customer: account status and value, the team, contacts (with their changes), the
// interaction timeline (paged), follow-ups, opportunities, service cases, shipments in
// flight and suggested next offerings — every section read in parallel, a section whose
// read the role is refused (403) left out — and every command staff give on a customer,
// each a `commandForm` (If-Match where the route takes it, Idempotency-Key, read-your-writes)
// shown only to the roles docs/permissions.md allows.

import { Problem, call, newKey } from "../api.js";
import { day, h, link, money, session, when } from "../dom.js";
import { commandForm } from "../forms.js";
import { language, t, tOr } from "../i18n.js";

const CHANNELS = ["visit", "call", "email", "meeting", "message", "portal"];
const DIRECTIONS = ["outbound", "inbound"];
const FOLLOW_UP_KINDS = ["call", "visit", "care_action", "document_to_chase"];
const STAGES = ["generation", "tracking", "control", "implementation", "evaluation"];
const LOSS_REASONS = ["price", "transit_time", "service_quality", "capacity", "relationship", "no_decision", "other"];
const CASE_KINDS = ["inquiry", "request", "complaint"];
const PRIORITIES = ["low", "normal", "high", "urgent"];
const PAGE = 20;

// The roles of docs/permissions.md: who may command a customer's records (contacts,
// interactions, team, follow-ups, opportunities, cases), and who may read suggestions.
const COMMANDERS = ["field_staff", "office_staff", "branch_manager", "hq"];
const SUGGESTION_READERS = ["field_staff", "office_staff", "branch_manager", "hq"];
// Who erases a contact's personal data (POST /v1/people/{person_id}/erasure).
const ERASERS = ["hq", "admin"];
// What a personal field reads once its data subject is erased.
const ERASED = "[erased]";
// The kind of personal data each field of a contact is.
const FIELD_KINDS = { name: "identity", title: "identity", phone: "contact_details", email: "contact_details" };

/** Whether the signed-in staff member holds one of `roles`. */
export function may(roles) {
  return ((session.me && session.me.roles) || []).some((role) => roles.includes(role));
}

/** The answer of a read, or null when the role may not make it (the section is hidden). */
export async function unlessRefused(reading) {
  try {
    return await reading;
  } catch (error) {
    if (error instanceof Problem && error.status === 403) return null;
    throw error;
  }
}

/** The query of a read that must include the log position a command answered. */
export function fresh(minPosition, query = {}) {
  return minPosition === undefined ? query : { ...query, min_position: minPosition, wait: 10 };
}

/** Replace what `box` holds with `parts` (nested lists, nothing for null or false). */
const fill = (box, ...parts) => box.replaceChildren(...parts.flat(Infinity).filter((part) => part !== null && part !== undefined && part !== false));
const select = (id, values, label) =>
  h("select", { id, name: id }, values.map((value) => h("option", { value }, label(value))));
const input = (id, attributes = {}) => h("input", { id, name: id, ...attributes });
const compact = (form) => {
  form.classList.add("compact");
  return form;
};
/** A form inside a list's entry: compact, its title a label rather than a heading. */
const inline = (form) => {
  const heading = form.querySelector("h2");
  form.setAttribute("aria-label", heading.textContent);
  heading.replaceWith(h("strong", { className: "form-title" }, heading.textContent));
  form.classList.add("compact", "inline");
  return form;
};

/** The form completing a follow-up (If-Match of the follow-up's version). */
export function completeFollowUpForm(item, done) {
  const outcome = input(`outcome-${item.follow_up_id}`, { maxLength: 2000, placeholder: t("followUps.outcome") });
  return inline(
    commandForm({
      id: `complete-${item.follow_up_id}`,
      title: t("followUps.completeTitle"),
      doneText: t("cust.saved"),
      submit: t("followUps.complete"),
      fields: [[outcome.id, t("followUps.outcome"), outcome]],
      body: () => (outcome.value.trim() ? { outcome: outcome.value.trim() } : t("followUps.outcomeRequired")),
      version: () => item.version,
      send: (body, headers) => call("POST", `/v1/follow-ups/${item.follow_up_id}/complete`, { body, headers }),
      done,
    }),
  );
}

function moneyByCurrency(values) {
  const entries = Object.entries(values || {});
  return entries.length === 0 ? "—" : entries.map(([currency, amount]) => money(amount, currency)).join(" · ");
}

async function customer(view, id) {
  const commands = may(COMMANDERS);
  // What the page shows, and the versions the forms send as If-Match.
  let shown = null;
  let timelineCursor = null;
  const title = h("h1", {});
  const box = (boxId) => h("section", { id: boxId });
  const statusBox = box("status");
  const valueBox = box("value");
  const teamBox = box("team");
  const contactsBox = box("contacts");
  const timelineBox = box("timeline");
  const followUpsBox = box("follow-ups");
  const opportunitiesBox = box("opportunities");
  const casesBox = box("cases");
  const shipmentsBox = box("shipments");
  const suggestionsBox = box("suggestions");
  const notice = h("p", { id: "customer-notice", role: "status", className: "ok" });
  const accountBox = h("details", { id: "account-actions" });

  async function load(minPosition) {
    const query = fresh(minPosition);
    const suggestions = may(SUGGESTION_READERS)
      ? unlessRefused(call("GET", `/v1/relationships/${id}/suggestions`, { query }))
      : Promise.resolve(null);
    // The contacts' data subjects are read from the keys themselves: current at once.
    const people = unlessRefused(call("GET", `/v1/relationships/${id}/people`));
    const [status, contacts, timeline, followUps, opportunities, cases, booked, inTransit, suggested, offerings, subjects] = await Promise.all([
      call("GET", `/v1/relationships/${id}`, { query }),
      unlessRefused(call("GET", `/v1/relationships/${id}/contacts`, { query: { ...query, include_removed: true, limit: 200 } })),
      unlessRefused(call("GET", `/v1/relationships/${id}/interactions`, { query: { ...query, limit: PAGE } })),
      unlessRefused(call("GET", "/v1/follow-ups", { query: { ...query, relationship_id: id, state: "open", limit: 100 } })),
      unlessRefused(call("GET", "/v1/opportunities", { query: { ...query, relationship_id: id, limit: 100 } })),
      unlessRefused(call("GET", "/v1/cases", { query: { ...query, relationship_id: id, limit: 100 } })),
      unlessRefused(call("GET", "/v1/shipments", { query: { ...query, customer_id: id, status: "booked", limit: 100 } })),
      unlessRefused(call("GET", "/v1/shipments", { query: { ...query, customer_id: id, status: "in_transit", limit: 100 } })),
      suggestions,
      commands ? unlessRefused(call("GET", "/v1/offerings", { query: { status: "active", limit: 100 } })) : Promise.resolve(null),
      people,
    ]);
    shown = {
      status,
      people: new Map((subjects ? subjects.items : []).filter((p) => p.contact_id).map((p) => [p.contact_id, p])),
      contacts: contacts ? contacts.items : [],
      opportunities: opportunities ? opportunities.items : [],
      offerings: offerings ? offerings.items : [],
    };
    title.textContent = status.name;
    drawStatus(status);
    drawValue(status);
    drawTeam(status);
    drawContacts(contacts);
    drawTimeline(timeline);
    drawFollowUps(followUps);
    drawOpportunities(opportunities);
    drawCases(cases);
    drawShipments(booked && inTransit ? [...inTransit.items, ...booked.items] : null);
    drawSuggestions(suggested);
    drawAccountActions(status);
    fillChoices();
  }

  /** After a command: say so, and read the page again at the position it answered. */
  const reread = (text) => async (accepted) => {
    await load(accepted.position);
    notice.textContent = text || "";
  };

  // --- personal data --------------------------------------------------------------------

  /** The kinds of a contact's personal data that are erased. */
  const erasedKinds = (contactId) => (shown.people.get(contactId) || { erased: [] }).erased;

  /** A contact's field as the page shows it: "erased" (in the page's language) once its
   * kind of data is erased, whatever a read model still holds. */
  function personal(contactId, field, value) {
    if (value === null || value === undefined) return value;
    if (value === ERASED || erasedKinds(contactId).includes(FIELD_KINDS[field] || field)) {
      return h("span", { className: "erased", "data-erased": field }, t("privacy.erased"));
    }
    return value;
  }

  /** A contact's name as plain text (for choices and lists). */
  const nameOf = (c) => (c.name === ERASED || erasedKinds(c.contact_id).includes("identity") ? t("privacy.erased") : c.name);

  /** Erase a contact's personal data (HQ and administrators): a reason, the data subject
   * request's reference, and a confirmation that it cannot be undone. */
  function eraseAction(c) {
    const key = c.contact_id.replace(/[^A-Za-z0-9_-]/g, "_");
    const reason = input(`erase-reason-${key}`, { maxLength: 500 });
    const requestRef = input(`erase-request-${key}`, { maxLength: 120 });
    const confirmed = input(`erase-confirm-${key}`, { type: "checkbox" });
    const form = inline(
      commandForm({
        id: `erase-${key}`,
        title: t("privacy.eraseTitle", { name: nameOf(c) }),
        submit: t("privacy.eraseSubmit"),
        fields: [
          [reason.id, t("privacy.reason"), reason],
          [requestRef.id, t("privacy.requestRef"), requestRef],
          [confirmed.id, t("privacy.confirm"), confirmed],
        ],
        body: () => {
          if (!reason.value.trim()) return t("privacy.reasonRequired");
          if (!confirmed.checked) return t("privacy.confirmRequired");
          const body = { reason: reason.value.trim() };
          if (requestRef.value.trim()) body.request_ref = requestRef.value.trim();
          return body;
        },
        send: (body, headers) => call("POST", `/v1/people/${c.person_id}/erasure`, { body, headers }),
        done: reread(t("privacy.erasedNotice")),
      }),
    );
    return h(
      "details",
      { className: "erase", "data-erase": c.contact_id },
      h("summary", {}, t("privacy.erase")),
      h("p", { className: "quiet" }, t("privacy.eraseIntro")),
      form,
    );
  }

  // --- sections -------------------------------------------------------------------------

  function drawStatus(status) {
    const yesNo = (value) => (value ? t("customer.yes") : t("customer.no"));
    const facts = [
      ["customer.kind", tOr(`kind.${status.kind}`, status.kind)],
      ["customer.lifecycle", tOr(`lifecycle.${status.lifecycle}`, status.lifecycle)],
      ["customer.branch", status.branch],
      ["customer.keyAccount", yesNo(status.key_account)],
      ["customer.lastInteraction", when(status.last_interaction_at)],
      ["customer.interactions90", status.interactions_last_90_days],
      ["customer.openCases", status.open_cases],
      ["customer.overdueFollowUps", status.overdue_follow_ups],
      ["customer.version", status.version],
    ];
    fill(statusBox, 
      h("h2", {}, t("customer.status")),
      h("dl", {}, facts.map(([key, value]) => [h("dt", {}, t(key)), h("dd", { "data-field": key }, String(value))])),
    );
  }

  function drawValue(status) {
    const facts = [
      ["cust.realisedValue", moneyByCurrency(status.realised_value)],
      ["cust.potentialValue", moneyByCurrency(status.potential_value)],
      ["cust.modelValue", moneyByCurrency(status.model_value)],
      ["cust.modelAsOf", status.model_value_as_of ? day(status.model_value_as_of) : "—"],
      ["cust.openOpportunities", status.open_opportunities],
      ["cust.inFlight", status.shipments_in_flight],
    ];
    fill(valueBox, 
      h("h2", {}, t("cust.value")),
      h("dl", {}, facts.map(([key, value]) => [h("dt", {}, t(key)), h("dd", { "data-field": key }, String(value))])),
    );
  }

  function drawTeam(status) {
    fieldRep.defaultValue = status.field_rep || "";
    officeRep.defaultValue = status.office_rep || "";
    fill(teamBox, 
      h("h2", {}, t("cust.team")),
      h(
        "dl",
        {},
        h("dt", {}, t("customer.fieldRep")),
        h("dd", { "data-field": "customer.fieldRep" }, status.field_rep || "—"),
        h("dt", {}, t("customer.officeRep")),
        h("dd", { "data-field": "customer.officeRep" }, status.office_rep || "—"),
      ),
      commands ? teamForm : null,
    );
  }

  function drawContacts(contacts) {
    contactsBox.hidden = contacts === null;
    if (contacts === null) return;
    const current = contacts.items.filter((c) => !c.removed);
    const removed = contacts.items.filter((c) => c.removed);
    const history = (c) =>
      c.history.length <= 1
        ? null
        : h(
            "details",
            {},
            h("summary", {}, t("cust.contactChanges", { count: c.history.length })),
            h(
              "ul",
              { className: "quiet" },
              c.history.map((change) =>
                h(
                  "li",
                  {},
                  when(change.occurred_at),
                  ` · ${tOr(`cust.change.${change.change}`, change.change)} · ${change.actor}`,
                  change.changes.length
                    ? ` · ${change.changes.map((f) => `${f.field}: ${f.before ?? "—"} → ${f.after ?? "—"}`).join("; ")}`
                    : "",
                ),
              ),
            ),
          );
    fill(contactsBox, 
      h("h2", {}, t("customer.contacts")),
      current.length === 0
        ? h("p", { className: "quiet" }, t("customer.noContacts"))
        : h(
            "ul",
            {},
            current.map((c) => {
              const person = shown.people.get(c.contact_id);
              const erased = erasedKinds(c.contact_id).length > 0;
              return h(
                "li",
                { "data-contact": c.contact_id },
                h("strong", { "data-contact-name": "" }, personal(c.contact_id, "name", c.name)),
                ["title", "phone", "email"].map((field) => (c[field] ? [" · ", personal(c.contact_id, field, c[field])] : "")),
                person && person.is_erased ? [" ", h("span", { className: "tag", "data-erased-person": "" }, t("privacy.erasedBadge"))] : null,
                erased ? null : history(c), // its changes name what was erased
                may(ERASERS) && person && !person.is_erased && c.person_id ? eraseAction(c) : null,
              );
            }),
          ),
      removed.length === 0
        ? null
        : h("p", { className: "quiet", id: "removed-contacts" }, t("cust.removedContacts"), " ", removed.map(nameOf).join(", ")),
      commands ? [addContactForm, current.length ? [changeContactForm, removeContactForm] : null] : null,
    );
  }

  function timelineEntry(entry) {
    return h(
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
      entry.contact_name ? h("span", { className: "quiet" }, " → ", personal(entry.contact_id, "name", entry.contact_name)) : null,
      h("p", { className: "summary" }, entry.contact_id ? personal(entry.contact_id, "notes", entry.summary) : entry.summary),
    );
  }

  function drawTimeline(timeline) {
    timelineBox.hidden = timeline === null;
    if (timeline === null) return;
    timelineCursor = timeline.next_cursor;
    const list = h("ol", { className: "timeline" }, timeline.items.map(timelineEntry));
    const more = h(
      "button",
      {
        type: "button",
        id: "timeline-more",
        hidden: !timelineCursor,
        onclick: async () => {
          more.disabled = true;
          try {
            const next = await call("GET", `/v1/relationships/${id}/interactions`, { query: { limit: PAGE, cursor: timelineCursor } });
            list.append(...next.items.map(timelineEntry));
            timelineCursor = next.next_cursor;
            more.hidden = !timelineCursor;
          } finally {
            more.disabled = false;
          }
        },
      },
      t("cust.showMore"),
    );
    fill(timelineBox, 
      h("h2", {}, t("customer.timeline")),
      timeline.items.length === 0 ? h("p", { className: "quiet" }, t("customer.noTimeline")) : list,
      more,
    );
  }

  function drawFollowUps(followUps) {
    followUpsBox.hidden = followUps === null;
    if (followUps === null) return;
    const items = [...followUps.items].sort((a, b) => a.due_at.localeCompare(b.due_at));
    fill(followUpsBox, 
      h("h2", {}, t("cust.followUps")),
      items.length === 0
        ? h("p", { className: "quiet" }, t("cust.noFollowUps"))
        : h(
            "ul",
            {},
            items.map((item) =>
              h(
                "li",
                { "data-follow-up": item.follow_up_id, className: item.overdue ? "overdue" : "" },
                h("time", { dateTime: item.due_at }, when(item.due_at)),
                " ",
                h("span", { className: "tag" }, tOr(`followUp.${item.kind}`, item.kind)),
                ` ${item.assignee}`,
                item.note ? h("span", { className: "quiet" }, ` — ${item.note}`) : null,
                commands ? completeFollowUpForm(item, reread(t("followUps.completed"))) : null,
              ),
            ),
          ),
      commands ? scheduleForm : null,
    );
  }

  function drawOpportunities(opportunities) {
    opportunitiesBox.hidden = opportunities === null;
    if (opportunities === null) return;
    const rank = { open: 0, won: 1, lost: 2 };
    const items = [...opportunities.items].sort((a, b) => rank[a.status] - rank[b.status] || b.identified_at.localeCompare(a.identified_at));
    fill(opportunitiesBox, 
      h("h2", {}, t("cust.opportunities")),
      items.length === 0
        ? h("p", { className: "quiet" }, t("cust.noOpportunities"))
        : h(
            "ul",
            {},
            items.map((o) =>
              h(
                "li",
                { "data-opportunity": o.opportunity_id },
                h("strong", {}, o.title),
                " ",
                h("span", { className: "tag", "data-stage": o.stage }, tOr(`stage.${o.stage}`, o.stage)),
                " ",
                h("span", { className: "tag" }, tOr(`oppStatus.${o.status}`, o.status)),
                ` ${money(o.expected_value, o.currency)} × ${Math.round(Number(o.probability) * 100)}%`,
                h("span", { className: "quiet" }, ` · ${o.offering_label || ""} · ${t("cust.since", { date: day(o.stage_entered_at) })}`),
                commands && o.status === "open" ? moveForm(o) : null,
              ),
            ),
          ),
      commands ? openOpportunityForm : null,
    );
  }

  function drawCases(cases) {
    casesBox.hidden = cases === null;
    if (cases === null) return;
    const rank = { open: 0, resolved: 1, closed: 2 };
    const items = [...cases.items].sort((a, b) => rank[a.status] - rank[b.status] || b.opened_at.localeCompare(a.opened_at));
    const sla = (c) => {
      if (c.breached) return h("span", { className: "tag bad" }, t("cust.slaBreached"));
      if (c.status !== "open") return h("span", { className: "tag" }, t("cust.slaMet"));
      if (!c.first_responded_at) return h("span", { className: "tag" }, t("cust.firstResponseDue", { when: when(c.first_response_due) }));
      return h("span", { className: "tag" }, t("cust.resolutionDue", { when: when(c.resolution_due) }));
    };
    fill(casesBox, 
      h("h2", {}, t("cust.cases")),
      items.length === 0
        ? h("p", { className: "quiet" }, t("cust.noCases"))
        : h(
            "ul",
            {},
            items.map((c) =>
              h(
                "li",
                { "data-case": c.case_id },
                h("strong", {}, link(`/console/cases/${c.case_id}`, c.subject)),
                " ",
                h("span", { className: "tag" }, tOr(`caseStatus.${c.status}`, c.status)),
                " ",
                h("span", { className: "tag" }, `${tOr(`caseKind.${c.kind}`, c.kind)} · ${tOr(`priority.${c.priority}`, c.priority)}`),
                " ",
                sla(c),
                h("span", { className: "quiet" }, ` · ${when(c.opened_at)}`),
              ),
            ),
          ),
      commands ? openCaseForm : null,
    );
  }

  function drawShipments(items) {
    shipmentsBox.hidden = items === null;
    if (items === null) return;
    fill(shipmentsBox, 
      h("h2", {}, t("cust.shipments")),
      items.length === 0
        ? h("p", { className: "quiet" }, t("cust.noShipments"))
        : h(
            "ul",
            {},
            items.map((s) =>
              h(
                "li",
                { "data-shipment": s.shipment_id },
                link(`/console/shipments/${s.shipment_id}`, s.reference),
                ` · ${s.origin} → ${s.destination} `,
                h("span", { className: "tag" }, tOr(`shipmentStatus.${s.status}`, s.status)),
                s.modes && s.modes.length ? h("span", { className: "quiet" }, ` · ${s.modes.join(", ")}`) : null,
              ),
            ),
          ),
    );
  }

  function drawSuggestions(suggested) {
    suggestionsBox.hidden = suggested === null;
    if (suggested === null) return;
    fill(suggestionsBox, 
      h("h2", {}, t("cust.suggestions")),
      suggested.items.length === 0
        ? h("p", { className: "quiet" }, t("cust.noSuggestions"))
        : h(
            "ul",
            {},
            suggested.items.map((s) =>
              h(
                "li",
                {},
                h("strong", {}, s.offering_name || tOr(`suggestion.${s.kind}`, s.kind)),
                " ",
                h("span", { className: "tag" }, tOr(`suggestion.${s.kind}`, s.kind)),
                h("p", { className: "quiet" }, language() === "zh" ? s.reason_zh : s.reason_en),
              ),
            ),
          ),
    );
  }

  // --- commands -------------------------------------------------------------------------

  // Log an interaction (If-Match: the customer's version).
  const channel = select("channel", CHANNELS, (c) => t(`channel.${c}`));
  const direction = select("direction", DIRECTIONS, (d) => t(`direction.${d}`));
  const contact = h("select", { name: "contact_id", id: "contact" });
  const summary = h("textarea", { name: "summary", id: "summary", rows: 3, maxLength: 2000 });
  const logForm = commandForm({
    id: "log-interaction",
    messageId: "log-message",
    title: t("log.title"),
    submit: t("log.submit"),
    fields: [
      ["channel", t("log.channel"), channel],
      ["direction", t("log.direction"), direction],
      ["contact", t("log.contact"), contact],
      ["summary", t("log.summary"), summary],
    ],
    body: () => {
      const body = { channel: channel.value, direction: direction.value, summary: summary.value.trim() };
      if (contact.value) body.contact_id = contact.value;
      return body.summary ? body : t("log.summaryRequired");
    },
    version: () => shown.status.version,
    send: (body, headers) => call("POST", `/v1/relationships/${id}/interactions`, { body, headers }),
    done: (accepted) => load(accepted.position), // read your own write
    review: (position) => load(position),
  });

  // Assign the team (If-Match: the customer's version).
  const fieldRep = input("field-rep", { maxLength: 100 });
  const officeRep = input("office-rep", { maxLength: 100 });
  const teamForm = compact(
    commandForm({
      id: "assign-team",
      title: t("cust.assignTeam"),
      doneText: t("cust.saved"),
      submit: t("cust.assign"),
      fields: [
        ["field-rep", t("customer.fieldRep"), fieldRep],
        ["office-rep", t("customer.officeRep"), officeRep],
      ],
      body: () => ({ field_rep: fieldRep.value.trim() || null, office_rep: officeRep.value.trim() || null }),
      version: () => shown.status.version,
      send: (body, headers) => call("POST", `/v1/relationships/${id}/assign-team`, { body, headers }),
      done: reread(),
      review: (position) => load(position),
    }),
  );

  // Add a contact (If-Match: the customer's version); its id is chosen once per fill, so a
  // resubmit is the same request under the same Idempotency-Key.
  let contactId = newKey().replace("console-", "c-").slice(0, 14);
  const contactName = input("contact-name", { maxLength: 200 });
  const contactTitle = input("contact-title", { maxLength: 200 });
  const contactPhone = input("contact-phone", { maxLength: 40, type: "tel" });
  const contactEmail = input("contact-email", { maxLength: 200, type: "email" });
  const addContactForm = compact(
    commandForm({
      id: "add-contact",
      title: t("cust.addContact"),
      doneText: t("cust.saved"),
      submit: t("cust.add"),
      fields: [
        ["contact-name", t("cust.contactName"), contactName],
        ["contact-title", t("cust.contactTitle"), contactTitle],
        ["contact-phone", t("cust.contactPhone"), contactPhone],
        ["contact-email", t("cust.contactEmail"), contactEmail],
      ],
      body: () => {
        if (!contactName.value.trim()) return t("cust.nameRequired");
        const body = { contact_id: contactId, name: contactName.value.trim() };
        if (contactTitle.value.trim()) body.title = contactTitle.value.trim();
        if (contactPhone.value.trim()) body.phone = contactPhone.value.trim();
        if (contactEmail.value.trim()) body.email = contactEmail.value.trim();
        return body;
      },
      version: () => shown.status.version,
      send: (body, headers) => call("POST", `/v1/relationships/${id}/contacts`, { body, headers }),
      done: async (accepted) => {
        contactId = newKey().replace("console-", "c-").slice(0, 14);
        await load(accepted.position);
      },
      review: (position) => load(position),
    }),
  );

  // Change a contact: the fields filled replace the contact's (If-Match: the customer's).
  const changed = h("select", { id: "change-contact", name: "change-contact" });
  const newTitle = input("change-title", { maxLength: 200 });
  const newPhone = input("change-phone", { maxLength: 40, type: "tel" });
  const newEmail = input("change-email", { maxLength: 200, type: "email" });
  const changeContactForm = compact(
    commandForm({
      id: "change-contact-form",
      title: t("cust.changeContact"),
      doneText: t("cust.saved"),
      submit: t("cust.change"),
      fields: [
        ["change-contact", t("log.contact"), changed],
        ["change-title", t("cust.contactTitle"), newTitle],
        ["change-phone", t("cust.contactPhone"), newPhone],
        ["change-email", t("cust.contactEmail"), newEmail],
      ],
      body: () => {
        const body = {};
        if (newTitle.value.trim()) body.title = newTitle.value.trim();
        if (newPhone.value.trim()) body.phone = newPhone.value.trim();
        if (newEmail.value.trim()) body.email = newEmail.value.trim();
        return Object.keys(body).length ? body : t("cust.nothingToChange");
      },
      version: () => shown.status.version,
      send: (body, headers) => call("POST", `/v1/relationships/${id}/contacts/${encodeURIComponent(changed.value)}/change`, { body, headers }),
      done: reread(),
      review: (position) => load(position),
    }),
  );

  // Remove a contact (If-Match: the customer's version).
  const removedContact = h("select", { id: "remove-contact", name: "remove-contact" });
  const removeContactForm = compact(
    commandForm({
      id: "remove-contact-form",
      title: t("cust.removeContact"),
      doneText: t("cust.saved"),
      submit: t("cust.remove"),
      fields: [["remove-contact", t("log.contact"), removedContact]],
      body: () => ({ contact: removedContact.value }),
      version: () => shown.status.version,
      send: (_body, headers) => call("POST", `/v1/relationships/${id}/contacts/${encodeURIComponent(removedContact.value)}/remove`, { body: {}, headers }),
      done: reread(),
      review: (position) => load(position),
    }),
  );

  // Schedule a follow-up (a new record: no If-Match).
  const followUpKind = select("follow-up-kind", FOLLOW_UP_KINDS, (k) => t(`followUp.${k}`));
  const dueAt = input("follow-up-due", { type: "datetime-local" });
  const followUpNote = input("follow-up-note", { maxLength: 2000 });
  const assignee = input("follow-up-assignee", { maxLength: 100, placeholder: t("cust.assigneeMe") });
  const scheduleForm = compact(
    commandForm({
      id: "schedule-follow-up",
      title: t("cust.scheduleFollowUp"),
      doneText: t("cust.saved"),
      submit: t("cust.schedule"),
      fields: [
        ["follow-up-kind", t("cust.followUpKind"), followUpKind],
        ["follow-up-due", t("cust.dueAt"), dueAt],
        ["follow-up-note", t("cust.note"), followUpNote],
        ["follow-up-assignee", t("cust.assignee"), assignee],
      ],
      body: () => {
        if (!dueAt.value) return t("cust.dueRequired");
        const body = { subject_kind: "relationship", subject_id: id, kind: followUpKind.value, due_at: new Date(dueAt.value).toISOString() };
        if (followUpNote.value.trim()) body.note = followUpNote.value.trim();
        if (assignee.value.trim()) body.assignee = assignee.value.trim();
        return body;
      },
      send: (body, headers) => call("POST", "/v1/follow-ups", { body, headers }),
      done: reread(),
    }),
  );

  // Open an opportunity (a new record: no If-Match).
  const oppTitle = input("opportunity-title", { maxLength: 200 });
  const offering = h("select", { id: "opportunity-offering", name: "opportunity-offering" });
  const expectedValue = input("opportunity-value", { type: "number", min: 0, step: "0.01" });
  const currency = input("opportunity-currency", { maxLength: 3, defaultValue: "CNY", pattern: "[A-Z]{3}" });
  const probability = input("opportunity-probability", { type: "number", min: 0, max: 100, step: 1, defaultValue: "20" });
  const openOpportunityForm = compact(
    commandForm({
      id: "open-opportunity",
      title: t("cust.openOpportunity"),
      doneText: t("cust.saved"),
      submit: t("cust.open"),
      fields: [
        ["opportunity-title", t("cust.opportunityTitle"), oppTitle],
        ["opportunity-offering", t("cust.offering"), offering],
        ["opportunity-value", t("cust.expectedValue"), expectedValue],
        ["opportunity-currency", t("cust.currency"), currency],
        ["opportunity-probability", t("cust.probability"), probability],
      ],
      body: () => {
        if (!oppTitle.value.trim() || !offering.value || expectedValue.value === "") return t("cust.opportunityRequired");
        return {
          relationship_id: id,
          title: oppTitle.value.trim(),
          offering_id: offering.value,
          expected_value: expectedValue.value,
          currency: currency.value.trim().toUpperCase(),
          probability: String(Number(probability.value || 0) / 100),
        };
      },
      send: (body, headers) => call("POST", "/v1/opportunities", { body, headers }),
      done: reread(),
    }),
  );

  // Move an open opportunity: its next stage, won (at implementation) or lost (If-Match: the
  // opportunity's version).
  function moveForm(o) {
    const position = STAGES.indexOf(o.stage);
    const next = o.stage !== "implementation" && position >= 0 && position < STAGES.length - 2 ? STAGES[position + 1] : null;
    const moves = [...(next ? [`advance:${next}`] : []), ...(o.stage === "implementation" ? ["won"] : []), "lost"];
    const moveId = `move-${o.opportunity_id}`;
    const move = h(
      "select",
      { id: moveId, name: "move" },
      moves.map((m) => h("option", { value: m }, m.startsWith("advance:") ? t("cust.advanceTo", { stage: t(`stage.${next}`) }) : t(`cust.move.${m}`))),
    );
    const reason = select(`reason-${o.opportunity_id}`, LOSS_REASONS, (r) => tOr(`lossReason.${r}`, r));
    const explanation = input(`explanation-${o.opportunity_id}`, { maxLength: 2000 });
    const note = input(`note-${o.opportunity_id}`, { maxLength: 2000 });
    return inline(
      commandForm({
        id: `move-opportunity-${o.opportunity_id}`,
        title: t("cust.moveOpportunity"),
        doneText: t("cust.saved"),
      submit: t("cust.move"),
        fields: [
          [moveId, t("cust.move"), move],
          [note.id, t("cust.note"), note],
          [reason.id, t("cust.lossReason"), reason],
          [explanation.id, t("cust.lossExplanation"), explanation],
        ],
        body: () => {
          if (move.value === "lost") {
            if (!explanation.value.trim()) return t("cust.explanationRequired");
            return { move: "lost", reason: reason.value, explanation: explanation.value.trim() };
          }
          const body = move.value === "won" ? { move: "won" } : { move: "advance", to_stage: next };
          if (note.value.trim()) body.note = note.value.trim();
          return body;
        },
        version: () => o.version,
        send: ({ move: chosen, ...body }, headers) => call("POST", `/v1/opportunities/${o.opportunity_id}/${chosen}`, { body, headers }),
        done: reread(t("cust.moved")),
        review: (position) => load(position),
      }),
    );
  }

  // Open a service case (a new record: no If-Match).
  const caseKind = select("case-kind", CASE_KINDS, (k) => t(`caseKind.${k}`));
  const priority = select("case-priority", PRIORITIES, (p) => t(`priority.${p}`));
  priority.querySelector("option[value=normal]").defaultSelected = true; // kept by a reset
  const subject = input("case-subject", { maxLength: 200 });
  const description = h("textarea", { id: "case-description", name: "case-description", rows: 3, maxLength: 4000 });
  const openCaseForm = compact(
    commandForm({
      id: "open-case",
      title: t("cust.openCase"),
      doneText: t("cust.saved"),
      submit: t("cust.open"),
      fields: [
        ["case-kind", t("cust.caseKind"), caseKind],
        ["case-priority", t("cust.priority"), priority],
        ["case-subject", t("cust.subject"), subject],
        ["case-description", t("cust.description"), description],
      ],
      body: () => {
        if (!subject.value.trim() || !description.value.trim()) return t("cust.caseRequired");
        return { relationship_id: id, kind: caseKind.value, priority: priority.value, subject: subject.value.trim(), description: description.value.trim() };
      },
      send: (body, headers) => call("POST", "/v1/cases", { body, headers }),
      done: reread(),
    }),
  );

  // Account actions: the customer's name, kind, lifecycle, industry, key account and branch,
  // each a small form with If-Match of the customer's version, offered where the customer's
  // state allows it (the service refuses the others with 409 anyway), a reason where the
  // API asks for one.
  function accountForm(name, fields, body) {
    return compact(
      commandForm({
        id: `account-${name}`,
        title: t(`account.${name.replaceAll("-", "_")}`),
        doneText: t("cust.saved"),
        submit: t(`account.${name.replaceAll("-", "_")}.submit`),
        fields,
        body,
        version: () => shown.status.version,
        send: (payload, headers) => call("POST", `/v1/relationships/${id}/${name}`, { body: payload, headers }),
        done: reread(t("account.done")),
        review: (position) => load(position),
      }),
    );
  }

  function reasonForm(name) {
    const reason = input(`account-${name}-reason`, { maxLength: 200 });
    return accountForm(name, [[reason.id, t("account.reason"), reason]], () =>
      reason.value.trim() ? { reason: reason.value.trim() } : t("account.reasonRequired"),
    );
  }

  function oneFieldForm(name, field, label, attributes = {}) {
    const value = input(`account-${name}-${field}`, { maxLength: 80, ...attributes });
    return accountForm(name, [[value.id, label, value]], () =>
      value.value.trim() ? { [field]: value.value.trim() } : t("account.valueRequired"),
    );
  }

  function drawAccountActions(status) {
    accountBox.hidden = !commands;
    if (!commands) return;
    const customerKind = status.kind === "customer";
    const lifecycle = status.lifecycle;
    const region = input("account-move-to-branch-region", { maxLength: 80, defaultValue: status.region || "" });
    const branch = input("account-move-to-branch-branch", { maxLength: 80 });
    fill(
      accountBox,
      h("summary", {}, t("account.title")),
      oneFieldForm("rename", "name", t("account.name"), { maxLength: 200, defaultValue: status.name }),
      status.kind === "prospect" ? reasonForm("qualify") : null,
      ["prospect", "target"].includes(status.kind) ? oneFieldForm("first-business", "reference", t("account.reference")) : null,
      customerKind && ["active", "won_back"].includes(lifecycle) ? reasonForm("mark-dormant") : null,
      customerKind && lifecycle === "dormant" ? reasonForm("reactivate") : null,
      customerKind && lifecycle !== "lost" ? reasonForm("mark-lost") : null,
      customerKind && lifecycle === "lost" ? reasonForm("win-back") : null,
      oneFieldForm("change-industry", "industry", t("account.industry"), { defaultValue: status.industry || "" }),
      ["target", "customer"].includes(status.kind) && !status.key_account ? reasonForm("designate-key-account") : null,
      status.key_account ? reasonForm("withdraw-key-account") : null,
      accountForm(
        "move-to-branch",
        [
          [region.id, t("account.region"), region],
          [branch.id, t("account.branch"), branch],
        ],
        () => (region.value.trim() && branch.value.trim() ? { region: region.value.trim(), branch: branch.value.trim() } : t("account.valueRequired")),
      ),
    );
  }

  /** The choices of the forms that name a contact or an offering, kept where still there. */
  function fillChoices() {
    const current = shown.contacts.filter((c) => !c.removed);
    for (const [chooser, none] of [
      [contact, t("log.noContact")],
      [changed, null],
      [removedContact, null],
    ]) {
      const chosen = chooser.value;
      chooser.replaceChildren(
        ...(none ? [h("option", { value: "" }, none)] : []),
        ...current.map((c) => h("option", { value: c.contact_id }, nameOf(c))),
      );
      if (current.some((c) => c.contact_id === chosen)) chooser.value = chosen;
    }
    const offered = offering.value;
    offering.replaceChildren(...shown.offerings.map((o) => h("option", { value: o.offering_id }, o.label || o.name)));
    if (shown.offerings.some((o) => o.offering_id === offered)) offering.value = offered;
  }

  await load();
  view.replaceChildren(
    title,
    notice,
    h(
      "div",
      { className: "columns" },
      h("div", {}, statusBox, valueBox, teamBox, contactsBox, suggestionsBox),
      h("div", {}, commands ? logForm : null, timelineBox, followUpsBox, opportunitiesBox, casesBox, shipmentsBox),
    ),
    accountBox,
  );
}

export const routes = [[/^\/console\/customers\/([0-9a-fA-F-]{36})$/, (view, id) => customer(view, id)]];
export const nav = [];
