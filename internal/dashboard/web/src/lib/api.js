// Calls to the admin API. The session cookie authorises them; when it has expired, the
// sign-in page is shown, and the current view comes back after signing in.

import { period } from "./state.js";

/** ApiError is an answer other than 2xx, with the server's reason code. */
export class ApiError extends Error {
  constructor(status, reason, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.reason = reason;
  }
}

/** request fetches path and returns the response, or throws ApiError. */
export async function request(path, { signal, method = "GET", body } = {}) {
  const r = await fetch(path, {
    method,
    signal,
    credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (r.status === 401) {
    location.assign("/dashboard/login" + location.hash);
    throw new ApiError(401, "unauthorised", "Signed out: sign in again.");
  }
  if (!r.ok) {
    let reason = "", message = "";
    try {
      const e = await r.json();
      reason = e.reason || "";
      message = e.error || "";
    } catch {
      // not JSON: the status says enough
    }
    throw new ApiError(r.status, reason, message || `${method} ${path}: HTTP ${r.status}`);
  }
  return r;
}

/** getJSON fetches and decodes a JSON document. */
export async function getJSON(path, opts) {
  return (await request(path, opts)).json();
}

/**
 * report fetches /api/v1/reports/<name> for the state's period and site, with extra options,
 * and returns its envelope {report, from, to, site, generated_at, data}.
 */
export function report(name, params, extra = {}, opts) {
  const { from, to } = period(params);
  const q = new URLSearchParams({ from: String(from), to: String(to) });
  if (params.site) q.set("site", params.site);
  for (const [k, v] of Object.entries(extra)) if (v != null && v !== "") q.set(k, v);
  return getJSON(`/api/v1/reports/${encodeURIComponent(name)}?${q}`, opts);
}
