// "Show my code" (#/code/<venue type>): the live QR, an issuer code online (PP1), one made on this phone from
// its certificate with no signal (PP2, js/holder.js) or an unlinkable one (PP3, js/pp3.js). Loaded with its
// screen, not with the home screen (docs/performance.md, citizen page); the home screen fetches it once it is
// drawn, the boot script in index.html at once when a tab opens on a code, the service worker keeps it.
import * as holder from "./holder.js";
import { formatDuration, formatTime, pick, t, venueName, addStrings } from "./i18n.js";
import { venueIcon } from "./venues.js";

// this screen's strings (js/i18n.js has the first screen's)
addStrings({
  "en": {
    "venue.noperk.lead": "You have no perk at this type of venue right now, so there is no code to show.",
    "code.title": "My code",
    "code.perks": "This code proves:",
    "code.valid": "Valid for {time}",
    "code.refreshing": "Getting a fresh code…",
    "code.auto": "The code refreshes by itself — no need to reload.",
    "code.brightness": "Turn your screen brightness up so the scanner reads the code at the first try.",
    "code.alt": "QR code for {venue}. Valid until {time}.",
    "code.scheme": "From {scheme}",
    "code.scheme.other": "Use {scheme} instead",
    "code.offline": "You are offline. The code stays valid for {time}; a fresh one comes when you are back online.",
    "code.offline.expired": "You are offline and this code has expired. Connect to the internet to get a fresh code.",
    "code.session": "Your session has ended. This code still works for {time}; log in again for fresh codes.",
    "code.session.expired": "Your session has ended. Log in again to show your code.",
    "code.error": "We could not get a fresh code. Trying again…",
    "code.error.live": "We could not get a fresh code yet; this one still works for {time}. Trying again…",
    "code.expired": "This code has expired.",
    "code.noperk.title": "No perk here",
    "code.box.offline": "Offline: no valid code",
    "code.box.session": "Log in again to show your code",
    "code.wakelock": "The screen stays on while your code is shown.",
    "code.pp2.offline": "No signal needed: this code was made on your phone and a new one comes every 30 seconds.",
    "code.pp2.session": "Log in again to renew your codes. Until then this code, made on your phone, works.",
    "code.renew": "The codes saved on this phone have expired. Connect to the internet once to renew them.",
    "code.box.renew": "Connect once to renew",
  },
  "zh-CN": {
    "venue.noperk.lead": "您目前在此类场所没有可用权益，因此没有可出示的二维码。",
    "code.title": "我的二维码",
    "code.perks": "此二维码证明：",
    "code.valid": "有效期还剩 {time}",
    "code.refreshing": "正在获取新的二维码…",
    "code.auto": "二维码会自动刷新，无需重新加载页面。",
    "code.brightness": "请调高屏幕亮度，便于扫码设备一次识别。",
    "code.alt": "{venue}二维码，有效期至 {time}。",
    "code.scheme": "来自{scheme}",
    "code.scheme.other": "改用{scheme}",
    "code.offline": "您已离线。当前二维码还可使用 {time}，恢复联网后会自动获取新码。",
    "code.offline.expired": "您已离线，当前二维码已过期。请连接网络以获取新的二维码。",
    "code.session": "登录已过期。当前二维码还可使用 {time}，请重新登录以获取新码。",
    "code.session.expired": "登录已过期，请重新登录后出示二维码。",
    "code.error": "暂时无法获取新的二维码，正在重试…",
    "code.error.live": "暂时无法获取新的二维码，当前二维码还可使用 {time}。正在重试…",
    "code.expired": "此二维码已过期。",
    "code.noperk.title": "此处暂无权益",
    "code.box.offline": "已离线：暂无有效二维码",
    "code.box.session": "请重新登录后出示二维码",
    "code.wakelock": "出示二维码期间屏幕保持常亮。",
    "code.pp2.offline": "无需信号：此二维码由您的手机生成，每 30 秒自动更新。",
    "code.pp2.session": "请重新登录以续期二维码。在此之前，手机生成的此二维码仍可使用。",
    "code.renew": "本机保存的二维码已过期，请联网一次以续期。",
    "code.box.renew": "请联网一次以续期",
  },
});

// The QR library (js/qr.js + vendor/qrcode.mjs), asked for as the screen opens, while the code is fetched or made
let renderSvg = null;
let qrLoading = null;
function loadQr() {
  qrLoading ||= import("./qr.js").then((m) => { renderSvg = m.renderSvg; return m; })
    .catch((e) => { qrLoading = null; throw e; });
  return qrLoading;
}

// what this screen uses of the shell (js/main.js), handed over when it is shown
let app, h, fill, add, button, link, announce, catalogue, setTopbar, syncHolder, holderProblemBox, clockNotice, api, ApiError, getSession;
function use(shell) {
  ({ app, h, fill, add, button, link, announce, catalogue, setTopbar, syncHolder, holderProblemBox, clockNotice, api, ApiError, getSession } = shell);
}

export function codeView(route, shell) {
  use(shell);
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
    if (st.fetching || st.stopped || st.problem === "session" || st.mode === "pp3") return;
    st.fetching = true;
    tick();
    try {
      const body = { audience: aud };
      if (st.scheme) body.scheme = st.scheme;
      const r = await api("/api/v1/credentials", { method: "POST", body });
      if (st.stopped || st.mode === "pp3") return;  // the phone's own certificate came meanwhile
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
      if (st.stopped || st.mode === "pp3") return;
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
  function startPp3() {
    st.mode = "pp3";
    clearTimeout(st.refreshTimer);
    import("./pp3.js").then((m) => {
      if (st.stopped || st.mode !== "pp3" || st.pp3) return;
      const draw = (text, until, data) => (renderSvg ? Promise.resolve() : loadQr())
        .then(() => { if (!st.stopped) showQr(text, until, data); });
      st.pp3 = m.codeScreen({ audience: aud, draw, showPerks, setStatus, countdown, panel, announce,
        progress: document.getElementById("progress") });
      tick();
    }).catch(() => { st.mode = "pp1"; fetchCode(true); });  // the module cannot load: the issuer's codes
  }
  // Opened while the page was still getting today's PP3 certificate (just logged in): decide again once it is
  // saved, else the issuer's codes stay on screen all visit (issue 23)
  const onHolder = () => { if (!st.stopped && st.mode !== "pp3" && holder.pp3Usable(aud)) startPp3(); };
  document.addEventListener("perkpass:holder", onHolder);
  if (st.mode === "pp3") startPp3();
  else fetchCode(true);
  syncHolder(false);

  return () => {
    st.stopped = true;
    clearInterval(ticker);
    clearTimeout(st.refreshTimer);
    window.removeEventListener("online", onOnline);
    window.removeEventListener("offline", onOffline);
    document.removeEventListener("visibilitychange", onVisible);
    document.removeEventListener("perkpass:holder", onHolder);
    if (st.wakeLock) st.wakeLock.release().catch(() => {});
  };
}
