// Calls of the service's API in the console's session: the browser sends the session cookie
// (HttpOnly: no script of the page can read it), and every call that may change something
// carries the session's CSRF token, kept in this module's memory only (never in storage;
// a reloaded page asks GET /console/session for it again). Refusals come in the language
// the user chose.

import { language } from "./i18n.js";

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
      "Accept-Language": language() === "zh" ? "zh-CN" : "en",
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

/** A multipart upload (a file as evidence), in the session, with the refusals of `call`. */
export async function upload(path, formData, { headers = {} } = {}) {
  return send(path, { method: "POST", body: formData, headers }, (response) => response.json());
}

/** A file the API serves (evidence), as a Blob, in the session, with the refusals of `call`. */
export async function download(path, headers = {}) {
  return send(path, { method: "GET", headers }, (response) => response.blob());
}

async function send(path, { method, body, headers }, read) {
  return read(await fetchRaw(path, { method, body, headers }));
}

/** The service's answer to a request in the session (a file's bytes, a zip), once it is
 * known to be no refusal: the cookie, the CSRF token where it may change something, the
 * user's language; 401 ends the session here, any other refusal is a Problem. */
export async function fetchRaw(path, { method = "GET", body, headers = {} } = {}) {
  // No Content-Type: for a FormData body the browser sets multipart/form-data with its boundary.
  const response = await fetch(new URL(path, location.origin), {
    method,
    credentials: "same-origin",
    headers: {
      "Accept-Language": language() === "zh" ? "zh-CN" : "en",
      ...(csrf && !SAFE.has(method) ? { "X-CSRF-Token": csrf } : {}),
      ...headers,
    },
    body,
  });
  if (response.status === 401) {
    forgetSession();
    throw new Unauthorized("unauthorized");
  }
  if (!response.ok) {
    const type = response.headers.get("content-type") || "";
    throw new Problem(response.status, type.includes("json") ? await response.json() : null);
  }
  return response;
}
