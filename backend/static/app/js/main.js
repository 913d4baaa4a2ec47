// The Perkpass citizen page: a small hash-routed single-page app on the public API.
//   #/            welcome (first visit) or home (logged in)
//   #/join        consent + sign-up          #/login     log in with phone and one-time code
//   #/home        scores, bands, perks by venue type
//   #/code/<aud>  the live QR for one venue type (audience)
//   #/history     where my codes were used   #/privacy   my data, opt-out
//   #/devices     phones that can show codes offline (PP2, js/holder.js)
//   #/session     the session has ended      #/left      data deleted
// js/main.js is the shell (API client, router, DOM helpers) with the home and welcome screens; the
// other screens load with their first use (VIEWS below).
// DOM is built with createElement/textContent only (no innerHTML), so API text can never inject markup.
import * as holder from "./holder.js";
import { formatTime, lang, setLang, detectLang, t, venueName } from "./i18n.js";
import { setVenueTypes, venueIcon, venueRank } from "./venues.js";

// ---- the API ----------------------------------------------------------------------------------
// The page's only way to the backend: same-origin JSON calls. Errors become ApiError with a `kind`:
//   "offline"  the request never reached the server (no network)
//   "session"  401 on a call that needed the citizen's token: the session has ended
//   "api"      a JSON error body {error: {code, message, fields}} (code/status/fields are kept)
//   "server"   anything else (5xx, HTML, broken JSON): never shown raw to the citizen

const TOKEN_KEY = "perkpass.session";

class ApiError extends Error {
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

function loadSession() {
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

function getSession() {
  return session;
}

function setSession(s) {
  session = s;
  try {
    if (s) localStorage.setItem(TOKEN_KEY, JSON.stringify(s));
    else localStorage.removeItem(TOKEN_KEY);
  } catch (_) { /* private mode: keep it in memory */ }
}

function onSessionLost(fn) {
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
function takeEarly(name, path, options = {}) {
  const boot = globalThis.perkpassBoot;
  const sent = boot && boot[name];
  if (!sent) return null;
  delete boot[name];
  return api(path, { ...options, sent });
}

async function api(path, { method = "GET", body, auth = true, timeoutMs = 15000, sent = null } = {}) {
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

const app = {
  route: { name: "", arg: "" },
  cleanup: null,
  catalogue: null,
  afterLogin: "#/home",
  flash: "",
  trail: [],  // in-app addresses visited, newest last (for the back arrow)
};

// ---- tiny DOM helper --------------------------------------------------------------------------

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

// Every child that goes into the page goes through h() or these: a missing value (null, undefined, false) is
// left out, never written out as the word "null" (the DOM's own append/replaceChildren turn null into text).
// tests/browser/test_screens_tell_the_truth.py checks that no other way of adding children is used.
function present(children) {
  return children.flat().filter((c) => c !== undefined && c !== null && c !== false);
}
function fill(el, ...children) { el.replaceChildren(...present(children)); return el; }
function add(el, ...children) { el.append(...present(children)); return el; }
function addFirst(el, ...children) { el.prepend(...present(children)); return el; }
function addAfter(el, ...children) { el.after(...present(children)); return el; }

function button(label, onClick, cls = "btn btn-primary", extra = {}) {
  return h("button", { type: "button", class: cls, on: { click: onClick }, ...extra }, label);
}

function link(label, href, cls = "btn btn-primary", extra = {}) {
  return h("a", { href, class: cls, ...extra }, label);
}

function errorText(e) {
  if (!(e instanceof ApiError)) return t("err.generic");
  if (e.kind === "offline") return t("err.offline");
  if (e.kind === "server") return t("err.server");
  if (e.kind === "session") return t("session.lead");
  if (e.code === "rate_limited" || e.status === 429) return t("err.rate");
  if (e.code === "invalid_code") return t("err.invalid_code");
  if (e.fields && e.fields.phone) return t("auth.bad_phone");
  if (e.fields && e.fields.code) return t("auth.bad_code");
  return t("err.generic");
}

// An error as a notice: being offline is a state (amber), anything else an error (red).
function problemBox(e) {
  return alertBox(errorText(e), e instanceof ApiError && e.kind === "offline" ? "warn" : "error");
}

function alertBox(text, kind = "error") {
  return h("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

function announce(text) {
  const live = document.getElementById("live");
  live.textContent = "";
  setTimeout(() => { live.textContent = text; }, 50);
}

async function catalogue() {
  if (!app.catalogue) {
    const early = takeEarly("catalogue", "/api/v1/catalogue", { auth: false });
    app.catalogue = (early && await early.catch(() => null)) || await api("/api/v1/catalogue", { auth: false });
    setVenueTypes(app.catalogue.venue_types);  // names, icons and order of the city's venue types
  }
  return app.catalogue;
}

function sortVenues(list) {
  return [...list].sort((a, b) => venueRank(a) - venueRank(b) || venueName(a).localeCompare(venueName(b), lang()));
}

// ---- shell: top bar, language, offline banner, router -----------------------------------------

function setTopbar(title, backHref) {
  document.getElementById("title").textContent = title;
  const back = document.getElementById("back");
  back.hidden = !backHref;
  back.dataset.href = backHref || "";
  document.title = title === t("app.name") ? title : `${title} · Perkpass`;
}

// Offline, the banner says what this phone can do: show codes until a time, or nothing until it connects once.
function updateOffline() {
  const banner = document.getElementById("offline");
  banner.hidden = navigator.onLine;
  if (navigator.onLine) return;
  const o = holder.offlineState();
  banner.dataset.state = o.state;
  // PP3 codes end with their UTC day, whatever PP2 certificate the phone holds (js/holder.js offlineState)
  const key = o.pp3Until ? (o.until > o.pp3Until ? "pp3.then" : o.until === o.pp3Until ? "pp3" : o.state) : o.state;
  banner.textContent = t(`offline.banner.${key}`, { time: o.until ? formatTime(o.until) : null,
    pp3: o.pp3Until ? formatTime(o.pp3Until) : null });
}

function parseRoute() {
  const hash = (location.hash || "").replace(/^#\/?/, "");
  const [name, ...rest] = hash.split("/");
  let arg = rest.join("/");
  try { arg = decodeURIComponent(arg); } catch (_) { /* a malformed address: keep it as typed */ }
  return { name: name || "", arg };
}

// Screens other than home and welcome are modules of their own, loaded when first shown (the service worker
// keeps them for offline use), so the first screen downloads none of them (docs/performance.md, citizen page).
// A screen module exports view(route, shell) and gets what it uses of this file from `shell`; another screen
// is one more line here.
const codeScreen = () => import("./code.js");
const authScreens = () => import("./auth.js");
const accountScreens = () => import("./account.js");
const homeScreen = () => import("./home.js");  // the home screen's scores and venue cards
const VIEWS = {
  "": (r) => (rootView() === "home" ? homeView(r) : welcomeView(r)),
  welcome: welcomeView,
  home: homeView,
  join: lazy(authScreens, "joinView"),
  login: lazy(authScreens, "loginView"),
  code: lazy(codeScreen, "codeView"),
  history: lazy(accountScreens, "historyView"),
  privacy: lazy(accountScreens, "privacyView"),
  devices: lazy(accountScreens, "devicesView"),
  session: lazy(accountScreens, "sessionView"),
  left: lazy(accountScreens, "leftView"),
  score: lazy(() => import("./ledger.js"), "scoreView"),  // "Why is my score this?" (docs/ledger.md)
};
// A phone that holds a key or codes belongs to someone who has been here: home, never the welcome/join screen
function rootView() {
  return getSession() || holder.deviceId() || holder.hasAnyCertificates() ? "home" : "welcome";
}
const NEEDS_SESSION = new Set(["home", "code", "history", "privacy", "devices", "score"]);
// Without a session (logged out by time, or never online since) the codes saved on this phone still work
const OFFLINE_OK = new Set(["home", "code"]);

// The screen `name` of the module `load` gives: "loading" until it is there, then the screen, its heading
// focused as render() does for the others.
function lazy(load, name) {
  return (route) => {
    let alive = true;
    let cleanup = null;
    const view = document.getElementById("view");
    add(view, h("p", { class: "muted", id: "view-loading" }, t("loading")));
    load().then((m) => {
      if (!alive) return;
      fill(view);
      cleanup = m[name](route, shell);
      const heading = view.querySelector("h2");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
    }).catch(() => { if (alive) fill(view, problemBox(new ApiError("offline"))); });
    return () => { alive = false; if (typeof cleanup === "function") cleanup(); };
  };
}

function render() {
  if (app.cleanup) { try { app.cleanup(); } catch (_) { /* ignore */ } app.cleanup = null; }
  const route = parseRoute();
  if (!(route.name in VIEWS)) { location.replace("#/"); return; }
  if (NEEDS_SESSION.has(route.name) && !getSession() && !(OFFLINE_OK.has(route.name) && holder.hasAnyCertificates())) {
    app.afterLogin = "#/" + route.name + (route.arg ? "/" + encodeURIComponent(route.arg) : "");
    let seen = false;
    try { seen = !!localStorage.getItem("perkpass.seen") || !!holder.deviceId(); } catch (_) { /* storage disabled */ }
    location.replace(seen ? "#/login" : "#/welcome");
    return;
  }
  app.route = route;
  const here = location.hash || "#/";
  if (app.trail.length > 1 && app.trail[app.trail.length - 2] === here) app.trail.pop();
  else if (app.trail[app.trail.length - 1] !== here) app.trail.push(here);
  if (app.trail.length > 50) app.trail.splice(0, app.trail.length - 50);
  const main = document.getElementById("view");
  fill(main);
  main.dataset.view = route.name || rootView();
  const cleanup = VIEWS[route.name](route);
  app.cleanup = typeof cleanup === "function" ? cleanup : null;
  const heading = main.querySelector("h2");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  window.scrollTo(0, 0);
}

function boot() {
  setLang(detectLang());
  loadSession();
  const langBtn = document.getElementById("lang");
  const paintLang = () => {
    langBtn.textContent = t("lang.switch");
    langBtn.setAttribute("aria-label", t("lang.switch.label"));
    langBtn.setAttribute("lang", lang() === "en" ? "zh-CN" : "en");
    document.getElementById("back").setAttribute("aria-label", t("nav.back"));
    document.getElementById("back-label").textContent = t("nav.back");
    updateOffline();
  };
  langBtn.addEventListener("click", () => {
    setLang(lang() === "en" ? "zh-CN" : "en", true);
    paintLang();
    render();
  });
  document.getElementById("back").addEventListener("click", (ev) => {
    const target = ev.currentTarget.dataset.href || "#/";
    // like a mini-program's back arrow: step back in history when that is where we came from, so the
    // phone's own back button does not bounce between the two screens afterwards
    if (app.trail.length > 1 && app.trail[app.trail.length - 2] === target) history.back();
    else location.hash = target;
  });
  window.addEventListener("online", updateOffline);
  window.addEventListener("online", () => syncHolder(true));
  window.addEventListener("offline", updateOffline);
  document.addEventListener("perkpass:holder", updateOffline);
  setInterval(updateOffline, 30_000);  // saved codes end while the phone stays offline
  window.addEventListener("hashchange", render);
  onSessionLost(() => {
    // the code screen shows its own session state (the current code stays usable until it expires)
    if (app.route.name !== "code") {
      app.afterLogin = location.hash && location.hash !== "#/session" ? location.hash : "#/home";
      location.hash = "#/session";
    }
  });
  paintLang();
  // the device key and certificates (IndexedDB, a few ms) before the first screen: it may be a code offline
  holder.load().finally(() => {
    document.body.classList.remove("booting");
    updateOffline();  // now that the saved codes are known
    render();
    firstScreen();
    syncHolder(true);
  });
  if ("serviceWorker" in navigator) {
    // keeps the page (not API answers) for opening it offline; failure only loses that comfort. Registered
    // once the first screen has its data, so its download of the rest of the page does not slow the first
    // screen on a slow connection (it waits at most 4 s for that)
    whenSettled(4000).then(() => navigator.serviceWorker.register("sw.js", { scope: "./" }))
      .then(() => navigator.serviceWorker.ready)
      .then(cacheLoadedFiles)
      .catch(() => {});
  }
  // the code screen and its QR library once the first screen is there, so "Show my code" does not wait
  // for them (a round trip on a slow connection)
  whenSettled(4000).then(() => {
    if (getSession() || holder.hasAnyCertificates()) return Promise.all([codeScreen(), import("./qr.js")]);
    return authScreens();
  }).catch(() => {});
}

let firstScreen;
const firstScreenShown = new Promise((resolve) => { firstScreen = resolve; });

// After the load event and the first screen, once no part of it is still loading (aria-busy) or ``maxMs``
// passed: what is fetched then does not share the connection with the first screen.
function whenSettled(maxMs) {
  return firstScreenShown.then(() => new Promise((resolve) => {
    const start = Date.now();
    const check = () => {
      if (!document.querySelector("[aria-busy=true]") || Date.now() - start > maxMs) resolve();
      else setTimeout(check, 100);
    };
    if (document.readyState === "complete") check(); else window.addEventListener("load", check, { once: true });
  }));
}

// Online with a session: register this phone's key once and renew its perk certificates, so the next
// code can be made with no signal. Failures only mean the phone keeps what it has.
let lastHolderSync = 0;
let holderSyncing = null;
function syncHolder(force = false) {
  if (!getSession() || !navigator.onLine || !holder.supported()) return Promise.resolve(null);
  // a forced sync (after logging in, joining a scheme, removing a phone) must see that change: one already
  // under way may have asked before it, so another follows it
  if (holderSyncing) return force ? holderSyncing.then(() => syncHolder(true)) : holderSyncing;
  if (!force && Date.now() - lastHolderSync < 60_000) return Promise.resolve(null);
  lastHolderSync = Date.now();
  holderSyncing = holder.refresh(api)
    .then((state) => { app.holderError = null; return state; })
    // PP3 (issue 23): today's unlinkable-code certificates, only when the issuer has some for this citizen
    .then((state) => (holder.pp3Pending() ? import("./pp3.js").then((m) => m.sync(api)).catch(() => 0) : 0)
      .then(() => state))
    .catch((e) => { app.holderError = e; return null; })
    .finally(() => { holderSyncing = null; document.dispatchEvent(new CustomEvent("perkpass:holder")); });
  return holderSyncing;
}

// The backend refused to add this phone (409 too_many_devices): it can show codes only while online.
function holderFull() {
  const e = app.holderError;
  return e instanceof ApiError && e.code === "too_many_devices";
}

// What stops this phone from keeping codes for use without signal, as a notice with the way out.
function holderProblemBox() {
  if (!holderFull()) return null;
  return h("div", { class: "notice notice-warn", id: "holder-full", role: "status" },
    h("p", {}, t("holder.full")),
    link(t("holder.full.link"), "#/devices", "btn btn-secondary btn-small", { id: "holder-full-devices" }));
}

// The phone holds a certificate for every venue type where the citizen has a perk (after joining a scheme,
// or a new score), else it asks for them now: an hour later the citizen may be underground.
function ensureCertificatesFor(audiences) {
  if (!holder.supported() || holderFull()) return;
  const missing = audiences.filter((a) => !holder.certificatesFor(a).usable.length);
  if (missing.length && Date.now() - lastHolderSync > 5_000) syncHolder(true);
  else syncHolder(false);
}

// Every file of the page this visit loaded (whatever modules main.js imports today) goes into the
// service worker's cache, so the page also opens offline. API answers and codes are never cached.
async function cacheLoadedFiles() {
  const urls = new Set(performance.getEntriesByType("resource").map((e) => e.name).concat([location.href])
    .map((u) => new URL(u, location.href))
    .filter((u) => u.origin === location.origin && u.pathname.startsWith("/app/"))
    .map((u) => u.origin + u.pathname));
  const cache = await caches.open("perkpass-app-v1");
  for (const u of urls) {
    if (!(await cache.match(u))) await cache.add(u).catch(() => {});
  }
}

// ---- welcome ----------------------------------------------------------------------------------

function welcomeView() {
  setTopbar(t("app.name"), null);
  try { localStorage.setItem("perkpass.seen", "1"); } catch (_) { /* ignore */ }
  const steps = ["welcome.p1", "welcome.p2", "welcome.p3"];
  add(document.getElementById("view"), 
    h("section", { class: "hero" },
      h("div", { class: "hero-mark", "aria-hidden": "true" }, "P"),
      h("h2", { class: "hero-title" }, t("welcome.title")),
      h("p", { class: "lead" }, t("welcome.lead"))),
    h("section", { class: "card" },
      h("h3", {}, t("welcome.how")),
      h("ol", { class: "steps" }, steps.map((k) => h("li", {}, t(k))))),
    h("div", { class: "actions" },
      link(t("welcome.join"), "#/join", "btn btn-primary btn-block", { id: "go-join" }),
      link(t("welcome.login"), "#/login", "btn btn-secondary btn-block", { id: "go-login" })),
  );
}

// ---- home -------------------------------------------------------------------------------------

function homeView() {
  setTopbar(t("home.title"), null);
  const view = document.getElementById("view");
  const body = h("div", { id: "home-body", "aria-busy": "true" }, h("p", { class: "muted" }, t("loading")));
  // the code first, as transit and health-code mini-programs do: from the saved certificates, then /me
  const quick = h("section", { class: "quick-codes card", id: "quick-codes", "aria-labelledby": "quick-title", hidden: true });
  let mePerks = null;
  const paint = () => paintQuick(quick, mePerks);
  paint();
  add(view, h("h2", { class: "sr-only" }, t("home.title")), quick, body);
  let alive = true;
  document.addEventListener("perkpass:holder", paint);
  if (!getSession()) {  // only the codes saved on this phone: no scores without logging in
    body.setAttribute("aria-busy", "false");
    const o = holder.offlineState();
    fill(body, alertBox(o.state === "ready" ? t("quick.wallet", { time: formatTime(o.until) }) : t("quick.wallet.expired"), "info"),
      link(t("session.login"), "#/login", "btn btn-secondary btn-block", { id: "wallet-login" }));
    return () => { document.removeEventListener("perkpass:holder", paint); };
  }

  async function load() {
    body.setAttribute("aria-busy", "true");
    try {
      const catLoading = catalogue();
      catLoading.catch(() => {});  // awaited below; a failure is handled there
      const early = takeEarly("me", "/api/v1/me");  // asked for by index.html's boot script with the page
      const me = (early && await early.catch(() => null)) || await api("/api/v1/me");
      if (!alive) return;
      mePerks = {};
      for (const m of me.schemes) for (const p of m.perks) (mePerks[p.audience] ||= []).push(p);
      paint();  // "Show my code" as soon as the perks are known; the catalogue only explains the scores
      const [cat, home] = await Promise.all([catLoading, homeScreen()]);
      if (!alive) return;
      fill(body, ...home.homeContent(me, cat, load, shell));
      paint();  // again with the venue types' names and icons, now known (a first visit's paint had codes)
      ensureCertificatesFor(Object.keys(mePerks));
    } catch (e) {
      if (!alive || (e instanceof ApiError && e.kind === "session")) return;
      fill(body, problemBox(e), button(t("code.retry"), load, "btn btn-secondary", { id: "retry" }));
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  }
  const onOnline = () => { if (body.querySelector("#retry")) load(); };
  window.addEventListener("online", onOnline);
  load();
  return () => {
    alive = false;
    window.removeEventListener("online", onOnline);
    document.removeEventListener("perkpass:holder", paint);
  };
}

// One big button per venue type where the citizen has a perk. Offline, the venue types come from the
// certificates saved on this phone; "ready without signal" says until when those work.
function paintQuick(box, mePerks) {
  const saved = holder.offlineAudiences();
  const auds = sortVenues(Array.from(new Set([...Object.keys(mePerks || {}), ...Object.keys(saved)])));
  box.hidden = auds.length === 0;
  if (!auds.length) { fill(box); return; }
  const ends = auds.map((a) => holder.certificatesFor(a).usable).flat().map((c) => c.not_after);
  box.dataset.offlineReady = String(ends.length > 0);
  fill(box,
    h("h3", { class: "section-title", id: "quick-title" }, t("quick.title")),
    h("div", { class: "quick-list" }, auds.map((aud) =>
      h("a", { href: `#/code/${encodeURIComponent(aud)}`, class: "btn btn-primary btn-block quick-code", "data-audience": aud },
        h("span", { class: "venue-icon" }, venueIcon(aud)), h("span", {}, t("quick.code", { venue: venueName(aud) }))))),
    ends.length ? h("p", { class: "muted small", id: "offline-ready" },
      t("quick.ready", { time: formatTime(Math.min(...ends) - 60) })) : null,
    ends.length ? clockNotice() : null,
    holderProblemBox());
}

// The phone's clock, as far as codes made on it are concerned: off by more than a minute from the server's
// (they are corrected for it, as long as the clock is not changed before the next online visit), or
// changed since that visit (the correction is wrong now). Null when there is nothing to say.
function clockNotice() {
  if (holder.clockChanged()) return h("p", { class: "notice notice-warn clock-skew", id: "clock-skew" }, t("code.clock.changed"));
  const off = holder.clockOffset();
  if (Math.abs(off) <= holder.SKEW_WARNING) return null;
  return h("p", { class: "notice notice-info clock-skew", id: "clock-skew" },
    t(off < 0 ? "code.clock.fast" : "code.clock.slow", { min: Math.max(1, Math.round(Math.abs(off) / 60)) }));
}

async function logout() {
  // a shared phone keeps nothing: this phone's key is removed (its certificates revoked) and forgotten
  const dev = holder.deviceId();
  if (dev) {
    try { await api(`/api/v1/me/devices/${encodeURIComponent(dev)}`, { method: "DELETE" }); } catch (_) { /* offline: revoked by time */ }
  }
  await holder.clear();
  try { await api("/api/v1/auth/logout", { method: "POST", body: {} }); } catch (_) { /* logged out locally anyway */ }
  setSession(null);
  location.hash = "#/login";
}

// What a screen in its own module uses of the shell (its view(route, shell) gets this)
const shell = { app, h, fill, add, addFirst, addAfter, button, link, errorText, problemBox, alertBox, announce, catalogue,
  setTopbar, syncHolder, holderFull, holderProblemBox, clockNotice, api, ApiError, getSession, setSession, logout,
  sortVenues };

boot();
