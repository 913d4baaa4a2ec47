// The page's only way to the backend: same-origin JSON calls. Errors become ApiError with a `kind`:
//   "offline"  the request never reached the server (no network)
//   "session"  401 on a call that needed the citizen's token: the session has ended
//   "api"      a JSON error body {error: {code, message, fields}} (code/status/fields are kept)
//   "server"   anything else (5xx, HTML, broken JSON): never shown raw to the citizen

const TOKEN_KEY = "perkpass.session";

export class ApiError extends Error {
  constructor(kind, { status = 0, code = "", message = "", fields = {}, retryAfter = 0 } = {}) {
    super(message || kind);
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }
}

let session = null;
const sessionListeners = [];

export function loadSession() {
  try {
    const raw = localStorage.getItem(TOKEN_KEY);
    const s = raw ? JSON.parse(raw) : null;
    if (s && typeof s.token === "string" && typeof s.expiresAt === "number" && s.expiresAt * 1000 > Date.now()) {
      session = s;
    } else {
      session = null;
      if (raw) localStorage.removeItem(TOKEN_KEY);
    }
  } catch (_) {
    session = null;
  }
  return session;
}

export function getSession() {
  return session;
}

export function setSession(s) {
  session = s;
  try {
    if (s) localStorage.setItem(TOKEN_KEY, JSON.stringify(s));
    else localStorage.removeItem(TOKEN_KEY);
  } catch (_) { /* private mode: keep it in memory */ }
}

export function onSessionLost(fn) {
  sessionListeners.push(fn);
}

function sessionLost() {
  const had = session !== null;
  setSession(null);
  if (had) sessionListeners.forEach((fn) => fn());
}

// An answer the page's inline boot script (index.html) asked for before any module had loaded, read as api()
// reads any answer (errors, an ended session); null when it was not asked for or was taken already, so the
// caller asks itself.
export function takeEarly(name, path, options = {}) {
  const boot = globalThis.perkpassBoot;
  const sent = boot && boot[name];
  if (!sent) return null;
  delete boot[name];
  return api(path, { ...options, sent });
}

export async function api(path, { method = "GET", body, auth = true, timeoutMs = 15000, sent = null } = {}) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    if (!session) throw new ApiError("session", { status: 401 });
    headers["Authorization"] = "Bearer " + session.token;
  }
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  let resp;
  try {
    resp = await (sent || fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store", redirect: "error", signal: ctrl.signal,
    }));
  } catch (_) {
    throw new ApiError("offline");
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  const ctype = resp.headers.get("Content-Type") || "";
  if (ctype.includes("json")) {
    try { data = await resp.json(); } catch (_) { data = null; }
  }
  if (resp.ok) {
    if (data === null) throw new ApiError("server", { status: resp.status });
    return data;
  }
  if (resp.status === 401 && auth) {
    sessionLost();
    throw new ApiError("session", { status: 401 });
  }
  const err = data && data.error && typeof data.error === "object" ? data.error : null;
  const retryAfter = parseInt(resp.headers.get("Retry-After") || "0", 10) || 0;
  if (err && resp.status < 500) {
    throw new ApiError("api", { status: resp.status, code: String(err.code || ""), message: String(err.message || ""),
      fields: err.fields || {}, retryAfter });
  }
  throw new ApiError("server", { status: resp.status, retryAfter });
}
