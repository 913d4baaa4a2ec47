// The Perkpass citizen page: a small hash-routed single-page app on the public API.
//   #/            welcome (first visit) or home (logged in)
//   #/join        consent + sign-up          #/login     log in with phone and one-time code
//   #/home        scores, bands, perks by venue type
//   #/code/<aud>  the live QR for one venue type (audience)
//   #/history     where my codes were used   #/privacy   my data, opt-out
//   #/devices     phones that can show codes offline (PP2, js/holder.js)
//   #/session     the session has ended      #/left      data deleted
// DOM is built with createElement/textContent only (no innerHTML), so API text can never inject markup.
import { api, ApiError, getSession, loadSession, onSessionLost, setSession, takeEarly } from "./api.js";
import { venueIcon } from "./icons.js";
import { setVenueTypes, venueRank } from "./venues.js";
import { formatDate, formatDuration, formatTime, lang, localName, pick, setLang, detectLang, t, venueName } from "./i18n.js";
import * as holder from "./holder.js";
// Loaded with the screen that needs them, not on the welcome screen (docs/performance.md, page weight):
// the QR library (js/qr.js + vendor/qrcode.mjs) with a code, js/ledger.js with "Why is my score this?".
// The service worker keeps both for offline use.
let renderSvg = null;
let qrLoading = null;
function loadQr() {
  qrLoading ||= import("./qr.js").then((m) => { renderSvg = m.renderSvg; return m; })
    .catch((e) => { qrLoading = null; throw e; });
  return qrLoading;
}

const RESEND_SECONDS = 60;

const app = {
  route: { name: "", arg: "" },
  cleanup: null,
  catalogue: null,
  afterLogin: "#/home",
  authDraft: { phone: "", code: "", sent: false, devCode: "", expiresIn: 300, sentAt: 0 },
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
  banner.textContent = t(`offline.banner.${o.state}`, { time: o.until ? formatTime(o.until) : null });
}

function parseRoute() {
  const hash = (location.hash || "").replace(/^#\/?/, "");
  const [name, ...rest] = hash.split("/");
  let arg = rest.join("/");
  try { arg = decodeURIComponent(arg); } catch (_) { /* a malformed address: keep it as typed */ }
  return { name: name || "", arg };
}

const VIEWS = {
  "": (r) => (rootView() === "home" ? homeView(r) : welcomeView(r)),
  welcome: welcomeView,
  join: (r) => authView("join", r),
  login: (r) => authView("login", r),
  home: homeView,
  code: codeView,
  history: historyView,
  privacy: privacyView,
  devices: devicesView,
  session: sessionView,
  left: leftView,
};
// A phone that holds a key or codes belongs to someone who has been here: home, never the welcome/join screen
function rootView() {
  return getSession() || holder.deviceId() || holder.hasAnyCertificates() ? "home" : "welcome";
}
const NEEDS_SESSION = new Set(["home", "code", "history", "privacy", "devices"]);
// Without a session (logged out by time, or never online since) the codes saved on this phone still work
const OFFLINE_OK = new Set(["home", "code"]);
VIEWS.score = (r) => {  // "Why is my score this?" (js/ledger.js, docs/ledger.md), loaded with its screen
  let cleanup = null;
  let alive = true;
  setTopbar(t("score.why"), "#/home");
  const view = document.getElementById("view");
  add(view, h("p", { class: "muted", id: "ledger-loading" }, t("loading")));
  import("./ledger.js").then((m) => {
    if (!alive) return;
    fill(view);
    cleanup = m.scoreView(r, { setTopbar });
    const heading = view.querySelector("h2");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  }).catch(() => { if (alive) fill(view, problemBox(new ApiError("offline"))); });
  return () => { alive = false; if (typeof cleanup === "function") cleanup(); };
};
NEEDS_SESSION.add("score");

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
}

// After the load event, once no part of the screen is still loading (aria-busy) or ``maxMs`` passed.
function whenSettled(maxMs) {
  return new Promise((resolve) => {
    const start = Date.now();
    const check = () => {
      if (!document.querySelector("[aria-busy=true]") || Date.now() - start > maxMs) resolve();
      else setTimeout(check, 100);
    };
    if (document.readyState === "complete") check(); else window.addEventListener("load", check, { once: true });
  });
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

// ---- join / log in ----------------------------------------------------------------------------

function authView(mode) {
  if (getSession()) { location.replace(app.afterLogin || "#/home"); return null; }
  const d = app.authDraft;
  setTopbar(t(mode === "join" ? "auth.join.title" : "auth.login.title"), "#/welcome");
  const view = document.getElementById("view");
  let consentVersion = null;
  let timer = null;

  const notice = h("div", { id: "auth-notice" });
  const flash = h("div", { id: "auth-flash" });
  const consentBox = h("section", { class: "card consent", id: "consent", "aria-labelledby": "consent-title" });
  const phone = h("input", { id: "phone", name: "phone", type: "tel", inputmode: "tel", autocomplete: "tel",
    required: true, maxlength: "20", value: d.phone, "aria-describedby": "phone-hint" });
  const sendBtn = button(t("auth.send"), () => sendCode(), "btn btn-secondary btn-block", { id: "send-code" });
  const sentMsg = h("p", { id: "sent", class: "muted", role: "status" });
  const devHint = h("p", { id: "dev-code", class: "dev-hint", hidden: true });
  const code = h("input", { id: "code", name: "code", type: "text", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6}", maxlength: "6", required: true, value: d.code, "aria-describedby": "sent" });
  const codeRow = h("div", { class: "field", id: "code-row", hidden: !d.sent },
    h("label", { for: "code" }, t("auth.code")), code, sentMsg, devHint);
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", id: "submit", disabled: !d.sent },
    t(mode === "join" ? "auth.join.submit" : "auth.login.submit"));
  const accept = h("input", { type: "checkbox", id: "accept", name: "accept" });

  const form = h("form", { class: "card form", novalidate: true, "aria-labelledby": "auth-title" },
    h("div", { class: "field" },
      h("label", { for: "phone" }, t("auth.phone")),
      phone,
      h("p", { class: "muted small", id: "phone-hint" }, t("auth.phone.hint")),
      sendBtn),
    codeRow,
    notice,
    submit);

  add(view, ...[
    h("h2", { id: "auth-title", class: "page-title" }, t(mode === "join" ? "auth.join.title" : "auth.login.title")),
    flash,
    mode === "join" ? consentBox : null,
    form,
    h("p", { class: "center" },
      link(t(mode === "join" ? "auth.switch.login" : "auth.switch.join"), mode === "join" ? "#/login" : "#/join",
        "text-link", { id: "switch-mode" })),
  ].filter(Boolean));

  function paintSent() {
    if (!d.sent) return;
    codeRow.hidden = false;
    submit.disabled = false;
    sentMsg.textContent = t("auth.sent", { phone: d.phone, min: Math.max(1, Math.round(d.expiresIn / 60)) });
    devHint.hidden = !d.devCode;
    devHint.textContent = d.devCode ? t("auth.dev", { code: d.devCode }) : "";
    const wait = Math.ceil(RESEND_SECONDS - (Date.now() - d.sentAt) / 1000);
    if (wait > 0) {
      sendBtn.disabled = true;
      sendBtn.textContent = t("auth.resend.wait", { s: wait });
    } else {
      sendBtn.disabled = false;
      sendBtn.textContent = t("auth.resend");
    }
  }
  // a different phone number needs its own code
  phone.addEventListener("input", () => {
    if (d.sent && phone.value.trim() !== d.phone) {
      Object.assign(d, { sent: false, code: "", devCode: "", sentAt: 0 });
      code.value = "";
      codeRow.hidden = true;
      submit.disabled = true;
      sendBtn.disabled = false;
      sendBtn.textContent = t("auth.send");
    }
  });
  timer = setInterval(paintSent, 1000);
  paintSent();

  if (mode === "join") {
    add(consentBox, h("h3", { id: "consent-title" }, t("auth.consent.title")), h("p", { class: "muted" }, t("loading")));
    api("/api/v1/auth/consent", { auth: false }).then((c) => {
      consentVersion = c.version;
      fill(consentBox, 
        h("h3", { id: "consent-title" }, t("auth.consent.title")),
        h("div", { class: "consent-text", id: "consent-text", tabindex: "0", role: "region",
          "aria-label": t("auth.consent.text") }, pick(c.text)),
        h("p", { class: "muted small" }, t("auth.consent.version", { version: c.version })),
        h("label", { class: "check", for: "accept" }, accept, h("span", {}, t("auth.consent.accept"))),
      );
    }).catch((e) => { fill(consentBox, alertBox(errorText(e))); });
  }

  function showError(text, kind = "error") {
    fill(notice, alertBox(text, kind));
    notice.scrollIntoView({ block: "nearest" });
  }

  async function sendCode() {
    fill(notice);
    d.phone = phone.value.trim();
    if (!/^\+?[0-9][0-9\s-]{6,18}$/.test(d.phone)) { showError(t("auth.bad_phone")); phone.focus(); return; }
    sendBtn.disabled = true;
    try {
      const r = await api("/api/v1/auth/request-code", { method: "POST", auth: false, body: { phone: d.phone, locale: lang() } });
      Object.assign(d, { sent: true, devCode: r.dev_code || "", expiresIn: r.expires_in || 300, sentAt: Date.now() });
      paintSent();
      code.focus();
    } catch (e) {
      sendBtn.disabled = false;
      showError(errorText(e));
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fill(notice);
    d.phone = phone.value.trim();
    d.code = code.value.trim();
    if (!/^[0-9]{6}$/.test(d.code)) { showError(t("auth.bad_code")); code.focus(); return; }
    const body = { phone: d.phone, code: d.code, locale: lang() };
    if (mode === "join") {
      if (!accept.checked || !consentVersion) { showError(t("auth.consent.needed")); accept.focus(); return; }
      body.consent = { version: consentVersion, accepted: true };
    }
    submit.disabled = true;
    try {
      const r = await api("/api/v1/auth/login", { method: "POST", auth: false, body });
      setSession({ token: r.access_token, expiresAt: r.expires_at, phoneHint: r.citizen.phone_hint });
      // the codes for use without signal are part of logging in: the first minute online is enough
      fill(notice, alertBox(t("auth.preparing"), "info"));
      await Promise.race([syncHolder(true), new Promise((resolve) => setTimeout(resolve, 8000))]);
      app.authDraft = { phone: "", code: "", sent: false, devCode: "", expiresIn: 300, sentAt: 0 };
      const next = app.afterLogin || "#/home";
      app.afterLogin = "#/home";
      location.hash = next;
    } catch (e) {
      submit.disabled = false;
      if (e instanceof ApiError && e.code === "consent_required") {
        app.flash = t("auth.no_account");
        location.hash = "#/join";
        return;
      }
      showError(errorText(e));
    }
  });

  if (app.flash) { fill(flash, alertBox(app.flash, "info")); app.flash = ""; }
  return () => clearInterval(timer);
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
      const cat = await catLoading;
      if (!alive) return;
      fill(body, ...homeContent(me, cat, load));
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

function homeContent(me, cat, reload) {
  const out = [];
  const schemes = Object.fromEntries(cat.schemes.map((s) => [s.code, s]));
  out.push(h("p", { class: "muted hello" }, t("home.hello", { phone: me.phone_hint })));
  if (app.flash) { out.push(alertBox(app.flash, "info")); app.flash = ""; }

  // scores
  out.push(h("h3", { class: "section-title", id: "scores-title" }, t("home.scores")));
  if (!me.schemes.length) {
    const joinList = h("div", { class: "join-list" });
    for (const s of cat.schemes) add(joinList, joinButton(s, joinList, reload));
    out.push(h("section", { class: "card", id: "no-schemes" },
      h("p", { class: "strong" }, t("home.none")), h("p", { class: "muted" }, t("home.none.lead")), joinList));
  } else {
    out.push(h("div", { class: "score-list", "aria-labelledby": "scores-title" },
      me.schemes.map((m) => scoreCard(m, schemes[m.scheme]))));
  }

  // perks by venue type: types with a perk first (full cards), then every other type with "no perk here"
  const byVenue = {};
  for (const m of me.schemes) for (const p of m.perks) (byVenue[p.audience] ||= []).push(p);
  const all = sortVenues(Array.from(new Set([...cat.audiences, ...Object.keys(byVenue)])));
  out.push(h("h3", { class: "section-title", id: "perks-title" }, t("home.perks")));
  out.push(h("p", { class: "muted small" }, t("home.perks.lead")));
  const list = h("ul", { class: "venue-list", "aria-labelledby": "perks-title" });
  for (const aud of all.filter((a) => byVenue[a])) add(list, venueCard(aud, byVenue[aud]));
  for (const aud of all.filter((a) => !byVenue[a])) add(list, venueCard(aud, null));
  out.push(list);

  // more schemes to join (below the perks: the main job of this screen is showing a code)
  const mine = new Set(me.schemes.map((m) => m.scheme));
  const others = me.schemes.length ? cat.schemes.filter((s) => !mine.has(s.code)) : [];
  if (others.length) {
    const joinMore = h("div", { class: "join-list" });
    for (const s of others) add(joinMore, joinButton(s, joinMore, reload));
    out.push(h("details", { class: "card join-more", id: "join-more" }, h("summary", {}, t("home.join.more")), joinMore));
  }

  out.push(h("nav", { class: "menu", "aria-label": t("home.title") },
    link(t("home.history"), "#/history", "menu-item", { id: "go-history" }),
    link(t("home.devices"), "#/devices", "menu-item", { id: "go-devices" }),
    link(t("home.privacy"), "#/privacy", "menu-item", { id: "go-privacy" }),
    button(t("home.logout"), logout, "menu-item menu-button", { id: "logout" })));
  return out;
}

function joinButton(s, list, reload) {
  const label = t("home.join", { scheme: pick(s.name), base: s.base });
  const btn = button(label, async () => {
    btn.disabled = true;
    try {
      await api("/api/v1/me/schemes", { method: "POST", body: { scheme: s.code } });
      app.flash = t("home.joined", { scheme: pick(s.name) });
      await syncHolder(true);  // the new perks' certificates now, while the citizen is online
      reload();
    } catch (e) {
      btn.disabled = false;
      if (!(e instanceof ApiError && e.kind === "session")) addFirst(list, problemBox(e));
    }
  }, "btn btn-secondary btn-block", { "data-scheme": s.code });
  return btn;
}

function scoreCard(m, cfg) {
  const range = m.range;
  const bands = (cfg && cfg.bands) || [];
  const idx = bands.findIndex((b) => b.code === m.band.code);
  const band = bands[idx];
  const next = idx >= 0 && idx + 1 < bands.length ? bands[idx + 1] : null;
  const myPerks = m.perks.map((p) => pick(p.title));
  const nextPerk = cfg ? cfg.perks.filter((p) => p.min_score > m.score).sort((a, b) => a.min_score - b.min_score)[0] : null;
  const span = range.max - range.min || 1;
  const pct = (v) => `${Math.max(0, Math.min(100, ((v - range.min) / span) * 100))}%`;

  const track = h("div", { class: "band-track", "aria-hidden": "true" });
  bands.forEach((b, i) => {
    const seg = h("span", { class: `band-seg band-seg-${i % 5}${b.code === m.band.code ? " is-current" : ""}` });
    seg.style.left = pct(b.min);
    seg.style.width = `calc(${pct(b.max + (i + 1 < bands.length ? 1 : 0))} - ${pct(b.min)})`;
    add(track, seg);
  });
  const marker = h("span", { class: "band-marker" });
  marker.style.left = pct(m.score);
  add(track, marker);

  return h("article", { class: "card score-card", "data-scheme": m.scheme, "aria-label": pick(m.name) },
    h("div", { class: "score-head" },
      h("h4", {}, pick(m.name)),
      cfg && cfg.city ? h("span", { class: "muted small" }, pick(cfg.city)) : null),
    m.updated_at ? h("p", { class: "muted small score-updated" }, t("score.updated", { date: formatDate(m.updated_at) })) : null,
    h("div", { class: "score-main" },
      h("span", { class: "score-value", "data-testid": "score" }, String(m.score)),
      h("span", { class: "muted small" }, t("score.of", { min: range.min, max: range.max })),
      h("span", { class: "band-chip" }, t("score.band", { band: pick(m.band.label) }))),
    h("div", { role: "img", "aria-label": t("score.bar", { scheme: pick(m.name), score: m.score, band: pick(m.band.label),
      min: range.min, max: range.max }) }, track),
    // what the band means, and what is next (the perks themselves are listed by venue type below)
    h("p", { class: "small band-meaning" },
      band ? t("score.band.range", { band: pick(band.label), min: band.min, max: band.max, scheme: pick(m.name) }) + (lang() === "en" ? " " : "") : "",
      next ? t("score.next", { points: next.min - m.score, band: pick(next.label) }) : t("score.top")),
    myPerks.length ? null : h("p", { class: "small muted" }, t("score.unlocks.none")),
    nextPerk ? h("p", { class: "small muted" }, t("score.next.perk", { score: nextPerk.min_score, perk: pick(nextPerk.title) })) : null,
    whyLink(m.scheme),
    bands.length ? bandTable(cfg, m) : null,
  );
}

// Every band of the scheme with its score range and the perks that start in it: the published rules.
function whyLink(scheme) {  // the way into js/ledger.js's screen (kept here: the home screen needs no ledger.js)
  return h("a", { class: "text-link why-link", href: `#/score/${encodeURIComponent(scheme)}`, "data-scheme": scheme,
    id: `why-${scheme}` }, t("score.why"));
}

function bandTable(cfg, m) {
  const rows = cfg.bands.slice().reverse().map((b) => {
    const perks = cfg.perks.filter((p) => p.min_score >= b.min && p.min_score <= b.max);
    return h("tr", { class: b.code === m.band.code ? "is-current" : "" },
      h("th", { scope: "row" }, pick(b.label), b.code === m.band.code ? h("span", { class: "you" }, t("score.you")) : null),
      h("td", { class: "num" }, `${b.min}–${b.max}`),
      h("td", {}, perks.length ? perks.map((p) => h("span", { class: "perk-line" }, pick(p.title))) : "—"));
  });
  return h("details", { class: "bands" },
    h("summary", {}, t("score.bands", { scheme: pick(cfg.name) })),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("score.col.band")), h("th", { scope: "col" }, t("score.col.range")),
        h("th", { scope: "col" }, t("score.col.perks")))),
      h("tbody", {}, rows)),
    h("p", { class: "muted small" }, t("score.source")));
}

function venueCard(aud, perks) {
  const name = venueName(aud);
  if (!perks) {
    return h("li", { class: "venue venue-none", "data-audience": aud },
      h("span", { class: "venue-icon muted" }, venueIcon(aud)),
      h("div", { class: "venue-body" },
        h("span", { class: "venue-name" }, name),
        h("span", { class: "muted small no-perk" }, t("venue.noperk"))));
  }
  return h("li", { class: "venue venue-has card", "data-audience": aud },
    h("div", { class: "venue-top" },
      h("span", { class: "venue-icon" }, venueIcon(aud)),
      h("div", { class: "venue-body" },
        h("span", { class: "venue-name" }, name),
        h("span", { class: "muted small" }, perks.length === 1 ? t("venue.perks.one") : t("venue.perks.count", { n: perks.length })))),
    // a perk's usage rule ("once a day"), as the gate applies it (assets/schemes: "usage"); "visit" says nothing
    h("ul", { class: "ticks small" }, perks.map((p) => h("li", {}, pick(p.title),
      p.usage === "day" || p.usage === "month" ? h("span", { class: "muted perk-usage" }, ` · ${t("perk.usage." + p.usage)}`) : null))),
    // the accessible name starts with the visible words (speech control: "click Show my code"), the venue
    // type follows for screen readers only
    h("a", { href: `#/code/${encodeURIComponent(aud)}`, class: "btn btn-primary btn-block show-code", "data-audience": aud },
      t("venue.show"), h("span", { class: "sr-only" }, t("venue.show.for", { venue: name }))));
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

// ---- the code ---------------------------------------------------------------------------------

function codeView(route) {
  loadQr().catch(() => {});  // while the code is fetched or made
  const aud = route.arg;
  const name = venueName(aud);
  setTopbar(t("code.title"), "#/home");
  const view = document.getElementById("view");
  const st = { code: null, receivedAt: 0, lifetime: 0, fetching: false, problem: null, scheme: null, stopped: false,
    refreshTimer: null, retryDelay: 2, wakeLock: null, schemeNames: {},
    // "pp1": a code from the issuer (online); "pp2": made on this phone from its certificate (no network)
    mode: "pp1", pp2: null, pp2Busy: false, openedAt: performance.now() };
  // "pp3": this phone holds today's unlinkable certificate here, so it makes every code itself, online too,
  // and the issuer is not asked (js/pp3.js, loaded only then)
  if (holder.pp3Usable(aud)) st.mode = "pp3";

  const perksBox = h("div", { class: "code-perks", id: "code-perks" });
  const qrBox = h("div", { class: "qr-box is-empty", id: "qr-box" });
  const placeholder = h("div", { class: "qr-placeholder", id: "qr-placeholder" }, t("loading"));
  add(qrBox, placeholder);
  const countdown = h("p", { class: "countdown", id: "countdown", role: "timer", "aria-live": "off" });
  const bar = h("div", { class: "progress", "aria-hidden": "true" }, h("span", { class: "progress-fill", id: "progress" }));
  const status = h("div", { id: "code-status", role: "status", "aria-live": "polite" });
  const clockBox = h("div", { id: "clock-status" });
  const schemeBox = h("div", { class: "scheme-switch", id: "scheme-switch" });
  const hints = h("div", { class: "hints" },
    h("p", { class: "hint hint-auto" }, t("code.auto")),
    h("p", { class: "hint hint-bright", id: "brightness" }, t("code.brightness")));
  const panel = h("section", { class: "code-panel", id: "code-panel", "aria-labelledby": "code-title" },
    h("h2", { class: "page-title", id: "code-title" }, name), perksBox, qrBox, countdown, bar, status, clockBox, schemeBox, hints);
  add(view, panel);

  catalogue().then((cat) => {
    for (const s of cat.schemes) st.schemeNames[s.code] = s.name;
    paintPerks();
  }).catch(() => {});

  function remaining() {
    if (!st.code) return 0;
    return st.lifetime - (performance.now() - st.receivedAt) / 1000;
  }

  // What the code grants and under which scheme, with a button per other scheme that has perks here;
  // the same for an issuer code (PP1) and a code made on this phone (PP2).
  function showPerks(perks, scheme, otherSchemes, choose) {
    const schemeName = (x) => (st.schemeNames[x] ? pick(st.schemeNames[x]) : x);
    fill(perksBox, 
      h("p", { class: "small strong" }, t("code.perks")),
      h("ul", { class: "ticks" }, perks.map((p) => h("li", {}, pick(p.title)))),
      scheme && st.schemeNames[scheme] ? h("p", { class: "muted small" }, t("code.scheme", { scheme: schemeName(scheme) })) : null);
    fill(schemeBox, ...otherSchemes.map((x) =>
      button(t("code.scheme.other", { scheme: schemeName(x) }), () => choose(x), "btn btn-secondary btn-small")));
  }

  function paintPerks() {
    if (!st.code) return;
    showPerks(st.code.perks, st.code.scheme, st.code.other_schemes || [], (s) => {
      st.scheme = s; st.code = null; fetchCode(true);
    });
  }

  // One QR for either kind of code; `until` is when it stops being shown (its alt text says so).
  function showQr(text, until, data) {
    const avail = Math.min(qrBox.clientWidth || 320, 420);
    const svg = renderSvg(text, avail, t("code.alt", { venue: name, time: formatTime(until, false) }));
    Object.assign(svg.dataset, data);
    fill(qrBox, svg);
    qrBox.classList.remove("is-empty");
  }

  function drawQr() {
    if (!renderSvg) { loadQr().then(() => { if (!st.stopped && st.code) drawQr(); }).catch(() => {}); return; }
    showQr(st.code.qr_text, st.code.expires_at, { jti: st.code.jti });
  }

  function hideQr(text) {
    if (!qrBox.contains(placeholder) || placeholder.textContent !== text) {
      placeholder.textContent = text;
      fill(qrBox, placeholder);
    }
    qrBox.classList.add("is-empty");
  }

  function setStatus(text, kind) {
    if (!text) { if (status.firstChild) fill(status); return; }
    const cur = status.firstChild;
    if (cur && cur.textContent === text && cur.dataset.kind === kind) return;
    const p = h("p", { class: `notice notice-${kind}`, dataset: { kind } }, text);
    fill(status, p);
  }

  function schedule(ms) {
    clearTimeout(st.refreshTimer);
    st.refreshTimer = setTimeout(() => fetchCode(false), Math.max(250, ms));
  }

  // The phone's clock, corrected by the offset learned online, is what PP2 codes carry; a large offset is
  // worth telling the citizen about (scanners compare the code's time with their own, within a minute).
  function paintClock() {
    const note = clockNotice() || holderProblemBox();
    if (!note) { if (clockBox.firstChild) fill(clockBox); return; }
    if (!clockBox.firstChild || clockBox.firstChild.textContent !== note.textContent) fill(clockBox, note);
  }

  function pp2Choice() {
    const c = holder.certificatesFor(aud);
    const chosen = (st.scheme && c.usable.find((x) => x.scheme === st.scheme)) || c.usable[0] || null;
    return { cert: chosen, expired: c.expired };
  }

  function drawPp2(cert, p) {
    if (!renderSvg) { loadQr().then(() => { if (!st.stopped) drawPp2(cert, p); }).catch(() => {}); return; }
    showQr(p.text, p.presentedAt + holder.slotSeconds(), { jti: `${cert.cert_id}-${p.slot}`, mode: "pp2", slot: String(p.slot) });
    // two schemes with perks here: the citizen chooses, offline too (one certificate per scheme)
    const others = [...new Set(holder.certificatesFor(aud).usable.map((c) => c.scheme))].filter((x) => x !== cert.scheme);
    showPerks(cert.perks, cert.scheme, others, (x) => { st.scheme = x; st.pp2 = null; tick(); });
  }

  // No code from the issuer (offline, failing, logged out): make one here from the saved certificate,
  // a new one each slot. Returns false when this phone has no usable certificate for the venue type.
  function offlineTick() {
    const { cert, expired } = pp2Choice();
    if (!cert) {
      if (!expired) return false;
      st.mode = "renew";
      panel.dataset.state = "renew";
      countdown.textContent = "";
      document.getElementById("progress").style.width = "0%";
      setStatus(t("code.renew"), "warn");
      hideQr(t("code.box.renew"));
      return true;
    }
    const slotLen = holder.slotSeconds();
    const tNow = holder.now();
    const slot = Math.floor(tNow / slotLen);
    const fresh = st.pp2 && st.pp2.slot === slot && st.pp2.certId === cert.cert_id;
    if (!fresh && !st.pp2Busy) {
      st.pp2Busy = true;
      const renewed = !!st.pp2;
      holder.present(cert).then((p) => {
        if (st.stopped) return;
        st.mode = "pp2";
        st.pp2 = { ...p, certId: cert.cert_id };
        drawPp2(cert, p);
        if (renewed) announce(t("code.renewed"));
      }).catch(() => { st.pp2 = null; }).finally(() => { st.pp2Busy = false; });
    }
    if (!st.pp2) return true;  // the first one is being signed (a few ms)
    panel.dataset.state = "offline-code";
    const left = (st.pp2.slot + 1) * slotLen - tNow;
    countdown.textContent = t("code.pp2.next", { time: formatDuration(left) });
    countdown.classList.remove("is-low");
    document.getElementById("progress").style.width = `${Math.max(0, Math.min(100, (left / slotLen) * 100))}%`;
    const noSession = st.problem === "session" || !getSession();
    setStatus(t(noSession ? "code.pp2.session" : "code.pp2.offline"), "info");
    if (noSession && !status.querySelector("a")) {
      add(status.firstChild, " ", link(t("session.login"), "#/login", "text-link", { id: "relogin" }));
    }
    return true;
  }

  function tick() {
    if (st.stopped) return;
    paintClock();
    if (st.mode === "pp3") {
      if (!st.pp3 || st.pp3.tick()) return;
      st.mode = "pp1"; st.pp3 = null; fetchCode(true);  // the day's certificate ended while shown
      return;
    }
    const left = remaining();
    const live = st.code && left > 0;
    const pp1Live = st.mode === "pp1" && live;
    // an issuer code that is slow to come counts as none after 2 s: the citizen is at a gate
    const slow = st.fetching && !st.code && performance.now() - st.openedAt > 2000;
    if (!pp1Live && (st.problem || slow || !getSession() || st.mode !== "pp1") && offlineTick()) return;
    panel.dataset.state = live ? "live" : (st.problem || (st.fetching ? "loading" : "expired"));
    if (live) {
      countdown.textContent = t("code.valid", { time: formatDuration(left) });
      document.getElementById("progress").style.width = `${Math.max(0, Math.min(100, (left / st.lifetime) * 100))}%`;
      countdown.classList.toggle("is-low", left < 10);
    } else {
      countdown.textContent = st.problem || !st.code ? "" : (st.fetching ? t("code.refreshing") : t("code.expired"));
      document.getElementById("progress").style.width = "0%";
      if (st.code && !st.fetching && st.problem === null) fetchCode(false);
    }
    const time = formatDuration(left);
    if (st.problem === "offline") {
      setStatus(live ? t("code.offline", { time }) : t("code.offline.expired"), "warn");
    } else if (st.problem === "session") {
      const box = live ? t("code.session", { time }) : t("code.session.expired");
      setStatus(box, "error");
      if (!status.querySelector("a")) {
        add(status.firstChild, " ", link(t("session.login"), "#/login", "text-link", { id: "relogin" }));
      }
    } else if (st.problem === "error") {
      setStatus(live ? t("code.error.live", { time }) : t("code.error"), "warn");
    } else {
      setStatus("", "");
    }
    if (!live) {
      if (st.problem === "session") hideQr(t("code.box.session"));
      else if (st.problem === "offline") hideQr(t("code.box.offline"));
      else hideQr(st.fetching || !st.code ? t("code.refreshing") : t("code.expired"));
    }
  }

  async function fetchCode(first) {
    if (st.fetching || st.stopped || st.problem === "session") return;
    st.fetching = true;
    tick();
    try {
      const body = { audience: aud };
      if (st.scheme) body.scheme = st.scheme;
      const r = await api("/api/v1/credentials", { method: "POST", body });
      if (st.stopped) return;
      if (!r.eligible) { showNoPerk(); return; }
      const renewed = !!st.code;
      st.code = r;
      st.mode = "pp1";
      st.pp2 = null;
      st.receivedAt = performance.now();
      st.lifetime = Math.max(1, r.expires_at - r.issued_at);
      st.problem = null;
      st.retryDelay = 2;
      drawQr();
      paintPerks();
      if (renewed && !first) announce(t("code.renewed"));
      schedule(Math.min(r.refresh_after, st.lifetime - 1) * 1000);
    } catch (e) {
      if (st.stopped) return;
      if (e instanceof ApiError && e.kind === "session") {
        st.problem = "session";
        app.afterLogin = location.hash;
      } else if (e instanceof ApiError && e.kind === "api" && e.status >= 400 && e.status < 500 && e.status !== 429) {
        // not a venue type the issuer knows (a mistyped address): nothing to show, as for "no perk"
        showNoPerk();
        return;
      } else {
        st.problem = e instanceof ApiError && e.kind === "offline" ? "offline" : "error";
        const wait = e instanceof ApiError && e.retryAfter ? e.retryAfter : st.retryDelay;
        schedule(wait * 1000);
        st.retryDelay = Math.min(st.retryDelay * 2, 15);
      }
    } finally {
      st.fetching = false;
      if (!st.stopped) tick();
    }
  }

  function showNoPerk() {
    st.stopped = true;
    panel.dataset.state = "no-perk";
    fill(view, h("section", { class: "card no-perk-panel", id: "no-perk", "aria-labelledby": "no-perk-title" },
      h("span", { class: "venue-icon muted" }, venueIcon(aud)),
      h("p", { class: "venue-name" }, name),
      h("h2", { class: "page-title", id: "no-perk-title" }, t("code.noperk.title")),
      h("p", {}, t("venue.noperk.lead")),
      link(t("nav.back"), "#/home", "btn btn-secondary btn-block")));
    const heading = document.getElementById("no-perk-title");
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }

  const onOnline = () => { if (st.problem === "offline") { st.problem = null; fetchCode(false); } };
  const onOffline = () => { if (!st.problem) { st.problem = "offline"; tick(); } };
  const onVisible = async () => {
    if (document.visibilityState !== "visible") return;
    if (st.code && (performance.now() - st.receivedAt) / 1000 >= st.code.refresh_after) fetchCode(false);
    requestWakeLock();
  };
  async function requestWakeLock() {
    try {
      if ("wakeLock" in navigator && !st.wakeLock) {
        st.wakeLock = await navigator.wakeLock.request("screen");
        st.wakeLock.addEventListener("release", () => { st.wakeLock = null; });
      }
    } catch (_) { /* not allowed here (battery saver, no user gesture): the hint still says what to do */ }
  }
  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);
  document.addEventListener("visibilitychange", onVisible);
  const ticker = setInterval(tick, 250);
  requestWakeLock();
  if (!navigator.onLine) st.problem = "offline";
  if (st.mode === "pp3") {
    import("./pp3.js").then((m) => {
      if (st.stopped) return;
      const draw = (text, until, data) => (renderSvg ? Promise.resolve() : loadQr())
        .then(() => { if (!st.stopped) showQr(text, until, data); });
      st.pp3 = m.codeScreen({ audience: aud, draw, showPerks, setStatus, countdown, panel, announce,
        progress: document.getElementById("progress") });
      tick();
    }).catch(() => { st.mode = "pp1"; fetchCode(true); });  // the module cannot load: the issuer's codes
  } else {
    fetchCode(true);
  }
  syncHolder(false);

  return () => {
    st.stopped = true;
    clearInterval(ticker);
    clearTimeout(st.refreshTimer);
    window.removeEventListener("online", onOnline);
    window.removeEventListener("offline", onOffline);
    document.removeEventListener("visibilitychange", onVisible);
    if (st.wakeLock) st.wakeLock.release().catch(() => {});
  };
}

// ---- history ----------------------------------------------------------------------------------

function historyView() {
  setTopbar(t("nav.history"), "#/home");
  const view = document.getElementById("view");
  const body = h("div", { id: "history-body", "aria-busy": "true" }, h("p", { class: "muted" }, t("loading")));
  add(view, h("h2", { class: "page-title" }, t("history.title")), h("p", { class: "muted small" }, t("history.lead")), body);
  let alive = true;
  // PP3 codes (issue 23) name no one at the venue, so only this phone knows where it showed them
  if (holder.pp3Saved()) import("./pp3.js").then((m) => { if (alive) add(view, m.historySection(h)); }).catch(() => {});
  api("/api/v1/me/redemptions").then((r) => {
    if (!alive) return;
    // how long records are kept comes from the server's setting, so the page never promises another number
    addAfter(view.querySelector(".page-title + p"), 
      h("p", { class: "muted small", id: "history-kept" }, t("history.kept", { days: r.retention_days })));
    if (!r.redemptions.length) {
      fill(body, h("p", { class: "card empty", id: "history-empty" }, t("history.empty")));
      return;
    }
    fill(body, h("ol", { class: "history", id: "history-list" }, r.redemptions.map((x) =>
      h("li", { class: "card history-item", "data-audience": x.audience },
        h("span", { class: "venue-icon" }, venueIcon(x.audience)),
        h("div", { class: "venue-body" },
          h("span", { class: "venue-name" }, localName(x.venue)),
          h("span", { class: "small" }, pick(x.perk_title)),
          h("time", { class: "muted small", datetime: new Date(x.scanned_at * 1000).toISOString() },
            `${venueName(x.audience)} · ${formatTime(x.scanned_at)}`),
          x.flagged_replay ? alertBox(t("history.replay"), "warn") : null)))));
  }).catch((e) => {
    if (!alive || (e instanceof ApiError && e.kind === "session")) return;
    fill(body, problemBox(e));
  }).finally(() => body.setAttribute("aria-busy", "false"));
  return () => { alive = false; };
}

// ---- phones that can show codes offline ------------------------------------------------------

function devicesView() {
  setTopbar(t("devices.title"), "#/home");
  const view = document.getElementById("view");
  const body = h("div", { id: "devices-body", "aria-busy": "true" }, h("p", { class: "muted" }, t("loading")));
  add(view, ...[h("h2", { class: "page-title" }, t("devices.title")), h("p", { class: "muted small" }, t("devices.lead")),
    holder.supported() ? null : alertBox(t("devices.unsupported"), "info"), body].filter(Boolean));
  let alive = true;
  let added = false;  // this phone was added after the citizen removed another one
  async function load() {
    body.setAttribute("aria-busy", "true");
    try {
      await syncHolder(false);  // this phone is in the list once it has been online here
      const r = await api("/api/v1/me/devices");
      if (!alive) return;
      // at the limit: say so above the list, whose Remove buttons are the way out
      const full = holderFull() ? h("p", { class: "notice notice-warn", id: "holder-full", role: "status" }, t("holder.full")) : null;
      const done = added ? alertBox(t("holder.added"), "info") : null;
      if (!r.devices.length) { fill(body, full, h("p", { class: "card empty", id: "devices-empty" }, t("devices.none"))); return; }
      fill(body, full, done, h("ul", { class: "device-list", id: "device-list" }, r.devices.map(deviceItem)));
    } catch (e) {
      if (!alive || (e instanceof ApiError && e.kind === "session")) return;
      fill(body, problemBox(e));
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  }
  function deviceItem(d) {
    const mine = d.id === holder.deviceId();
    const note = h("div", { role: "status" });
    let armed = false;
    const remove = button(t("devices.remove"), async () => {
      if (!armed) { armed = true; remove.textContent = t("devices.remove.confirm"); return; }
      remove.disabled = true;
      try {
        await api(`/api/v1/me/devices/${encodeURIComponent(d.id)}`, { method: "DELETE" });
        if (mine) await holder.clear();
        fill(note, alertBox(t("devices.removed"), "info"));
        if (!mine && holderFull()) {  // room for this phone now: add it while the citizen is here
          await syncHolder(true);
          added = !holderFull() && !!holder.deviceId();
        }
        setTimeout(load, 800);
      } catch (e) {
        remove.disabled = false;
        if (!(e instanceof ApiError && e.kind === "session")) fill(note, problemBox(e));
      }
    }, "btn btn-danger btn-small", { "data-device": d.id });
    return h("li", { class: "card device", "data-device": d.id },
      h("div", { class: "venue-body" },
        h("span", { class: "venue-name" }, d.label, mine ? h("span", { class: "you" }, t("devices.this")) : null),
        h("span", { class: "muted small" }, t("devices.added", { date: formatDate(d.created_at) })),
        d.last_certified_at ? h("span", { class: "muted small" }, t("devices.certified", { time: formatTime(d.last_certified_at) })) : null),
      remove, note);
  }
  load();
  return () => { alive = false; };
}

// ---- privacy and opt-out ----------------------------------------------------------------------

function privacyView() {
  setTopbar(t("nav.privacy"), "#/home");
  const view = document.getElementById("view");
  const info = h("p", { class: "small", id: "consent-info" });
  const notice = h("div");
  const confirmBox = h("input", { type: "checkbox", id: "confirm-delete", on: { change: () => fill(notice) } });
  const del = button(t("privacy.delete"), () => {
    if (!confirmBox.checked) { fill(notice, alertBox(t("privacy.confirm.first"))); confirmBox.focus(); return; }
    dialog.showModal();
    noBtn.focus();
  }, "btn btn-danger btn-block", { id: "delete" });
  const yesBtn = button(t("privacy.confirm.yes"), async () => {
    yesBtn.disabled = true;
    try {
      app.deleted = await api("/api/v1/me", { method: "DELETE", body: { confirm: true } });
      await holder.clear();
      dialog.close();
      setSession(null);
      location.hash = "#/left";
    } catch (e) {
      yesBtn.disabled = false;
      dialog.close();
      if (!(e instanceof ApiError && e.kind === "session")) fill(notice, alertBox(errorText(e)));
    }
  }, "btn btn-danger", { id: "confirm-yes" });
  const noBtn = button(t("privacy.confirm.no"), () => dialog.close(), "btn btn-secondary", { id: "confirm-no" });
  const dialog = h("dialog", { class: "dialog", id: "confirm-dialog", "aria-labelledby": "dlg-title", "aria-describedby": "dlg-lead" },
    h("h3", { id: "dlg-title" }, t("privacy.confirm.title")),
    h("p", { id: "dlg-lead" }, t("privacy.confirm.lead")),
    h("div", { class: "row row-end" }, noBtn, yesBtn));

  add(view, 
    h("h2", { class: "page-title" }, t("privacy.title")),
    h("section", { class: "card" }, info),
    h("section", { class: "card", "aria-labelledby": "leave-title" },
      h("h3", { id: "leave-title" }, t("privacy.leave")),
      h("p", {}, t("privacy.leave.lead")),
      h("ul", { class: "crosses", id: "deleted-list" },
        ["privacy.del.account", "privacy.del.scores", "privacy.del.consent", "privacy.del.history"].map((k) => h("li", {}, t(k)))),
      h("p", { class: "muted small" }, t("privacy.keep")),
      h("label", { class: "check", for: "confirm-delete" }, confirmBox, h("span", {}, t("privacy.confirm.box"))),
      notice,
      del),
    dialog);
  let alive = true;
  api("/api/v1/me").then((me) => {
    if (alive && me.consent) info.textContent = t("privacy.consent", { date: formatDate(me.consent.accepted_at), version: me.consent.version });
  }).catch(() => {});
  return () => { alive = false; if (dialog.open) dialog.close(); };
}

function leftView() {
  setTopbar(t("app.name"), null);
  add(document.getElementById("view"), h("section", { class: "card center", id: "left" },
    h("h2", { class: "page-title" }, t("privacy.done.title")),
    h("p", {}, t("privacy.done.lead")),
    app.deleted ? h("p", { class: "muted small", id: "deleted-counts" }, t("privacy.done.counts", {
      schemes: app.deleted.memberships_deleted, uses: app.deleted.redemptions_deleted })) : null,
    link(t("privacy.done.home"), "#/welcome", "btn btn-primary btn-block")));
}

function sessionView() {
  if (getSession()) { location.replace("#/home"); return; }
  setTopbar(t("session.title"), null);
  add(document.getElementById("view"), h("section", { class: "card center", id: "session-ended" },
    h("h2", { class: "page-title" }, t("session.title")),
    h("p", {}, t("session.lead")),
    link(t("session.login"), "#/login", "btn btn-primary btn-block", { id: "relogin" })));
}

boot();
