// Calls of the service's API in the console's session: the browser sends the session cookie
// (HttpOnly: no script of the page can read it), and every call that may change something
// carries the session's CSRF token, kept in this module's memory only (never in storage;
// a reloaded page asks GET /console/session for it again).

const SESSION = "/console/session";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

let csrf = null;

/** Whether this page knows its session (its CSRF token). */
export function hasSession() {
  return csrf !== null;
}

/** The session the sign-in or GET /console/session answered. */
export function keepSession(answer) {
  csrf = answer.csrf_token;
}

export function forgetSession() {
  csrf = null;
}

/** The session the browser's cookie holds, if any (else Unauthorized). */
export async function loadSession() {
  keepSession(await call("GET", SESSION));
}

/** Sign in with a staff id and password, or a one-time link's secret. */
export async function openSession(body) {
  forgetSession();
  keepSession(await call("POST", SESSION, { body }));
}

/** Sign out: the service ends the session and clears the cookie. */
export async function endSession() {
  try {
    await call("DELETE", SESSION);
  } finally {
    forgetSession();
  }
}

/** No session, or one that has ended (401): the console goes back to sign-in. */
export class Unauthorized extends Error {}

/** A refusal of the service: its status and its problem details (RFC 9457). */
export class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** A fresh Idempotency-Key: 128 random bits (crypto.getRandomValues works on plain http too). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function call(method, path, { query = {}, body, headers = {} } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(csrf && !SAFE.has(method) ? { "X-CSRF-Token": csrf } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (response.status === 401) {
    forgetSession();
    throw new Unauthorized(data?.detail || "unauthorized");
  }
  if (!response.ok) throw new Problem(response.status, data);
  return data;
}
