// Calls of the service's API with the bearer token kept for this browser tab, asking for its
// refusals in the language the user chose.

import { language } from "./i18n.js";

const TOKEN = "fullchain.console.token";

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function keepToken(value) {
  sessionStorage.setItem(TOKEN, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN);
}

/** The token was missing or refused (401): the console goes back to sign-in. */
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
  const current = token();
  if (!current) throw new Unauthorized("no token");
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const response = await fetch(url, {
    method,
    headers: {
      Authorization: `Bearer ${current}`,
      Accept: "application/json",
      "Accept-Language": language() === "zh" ? "zh-CN" : "en",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (response.status === 401) {
    forgetToken();
    throw new Unauthorized(data?.detail || "unauthorized");
  }
  if (!response.ok) throw new Problem(response.status, data);
  return data;
}

/** A multipart upload (a file as evidence), with the same token and refusals as `call`. */
export async function upload(path, formData, { headers = {} } = {}) {
  return send(path, { method: "POST", body: formData, headers }, (response) => response.json());
}

/** A file the API serves (evidence), as a Blob, with the same token and refusals as `call`. */
export async function download(path, headers = {}) {
  return send(path, { method: "GET", headers }, (response) => response.blob());
}

async function send(path, { method, body, headers }, read) {
  const current = token();
  if (!current) throw new Unauthorized("no token");
  // No Content-Type: the browser sets multipart/form-data with its boundary.
  const response = await fetch(new URL(path, location.origin), {
    method,
    headers: { Authorization: `Bearer ${current}`, ...headers },
    body,
  });
  if (response.status === 401) {
    forgetToken();
    throw new Unauthorized("unauthorized");
  }
  if (!response.ok) {
    const type = response.headers.get("content-type") || "";
    throw new Problem(response.status, type.includes("json") ? await response.json() : null);
  }
  return read(response);
}
