// PP3 on the citizen page (issue 23): unlinkable codes, loaded only where this phone has a PP3 certificate
// or the issuer said it has some to give today (js/holder.js pp3Pending/pp3Usable decide without this file).
//
// * sync(): online, after the PP2 renewal: commitments to fresh secrets (made by ../vendor/pp3-holder.mjs,
//   CFRG Blind BBS) go to the issuer, which signs today's certificates blindly over them; certificate and
//   secret stay in IndexedDB (js/holder.js's store, cleared with it at log-out).
// * codeScreen(): every 30-second slot a fresh BBS proof, so two codes share no byte a venue or the operator
//   can match, except the quota pseudonym within one quota window at one venue type (what a "once a day"
//   perk needs). Works with no network: nothing here asks the server.
// * "Where my codes were used": a venue's record of a PP3 code names no one, so the server cannot list them;
//   the phone keeps its own list of the codes it showed (venue type, perks, time), 180 days, never uploaded.
import * as holder from "./holder.js";
import { formatDuration, formatTime, lang, pick, t, venueName } from "./i18n.js";

const KEEP_SHOWN_DAYS = 180;
const MAX_SHOWN = 500;
const DAY = 86400;
// The certificate's message layout (docs/credential-format.md, PP3): 2 since the scheme left the signed
// messages. A certificate of an earlier layout makes codes no gate accepts, so it is not used (the issuer gives
// one per day: PP1/PP2 codes until the next day's). js/holder.js pp3Usable checks the same number.
export const CERT_LAYOUT = 2;

const TEXT = {
  en: {
    status: "Unlinkable code made on this phone: venues cannot match two of your codes.",
    quota: "Codes you show here within {period} count as one visit (the perk's limit); elsewhere and later they cannot be matched.",
    day: "a day", minutes: "{n} minutes",
    "history.title": "Unlinkable codes shown from this phone",
    "history.lead": "Kept only on this phone, for {days} days: a venue's record of these codes names no one, so Perkpass cannot list them for you.",
    "history.shown": "Code shown",
  },
  "zh-CN": {
    status: "本机生成的不可关联二维码：场所无法将您的任意两次出示对应起来。",
    quota: "在此出示的二维码在{period}内算作一次使用（权益限制）；在其他场所或之后无法被关联。",
    day: "一天", minutes: "{n}分钟",
    "history.title": "本机出示过的不可关联二维码",
    "history.lead": "仅保存在本机，保留 {days} 天：场所对这些二维码的记录不含任何身份信息，因此 Perkpass 无法为您列出。",
    "history.shown": "已出示二维码",
  },
};

function say(key, params = {}) {
  const table = TEXT[lang()] || TEXT.en;
  return (table[key] || TEXT.en[key]).replace(/\{(\w+)\}/g, (_, k) => String(params[k]));
}

function unb64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

let vendorLoading = null;
function vendor() {
  vendorLoading ||= import("../vendor/pp3-holder.mjs");
  vendorLoading.catch(() => { vendorLoading = null; });
  return vendorLoading;
}

function today() {
  return Math.floor(holder.now() / DAY);
}

function saved() {
  return holder.pp3Saved() || { issuer: null, publicKey: null, certificates: [], shown: [] };
}

/** Today's certificates for a venue type, most perks first. */
export function certificatesFor(audience) {
  const day = today();
  return saved().certificates.filter((c) => c.audience === audience && c.day === day && c.layout === CERT_LAYOUT)
    .sort((a, b) => b.perks.length - a.perks.length || a.scheme.localeCompare(b.scheme));
}

/**
 * Online: ask for today's certificates the issuer has not given yet (`holder.pp3Pending()` of them), one
 * commitment each; keep them beside the ones still valid. The secrets never leave the phone.
 */
export async function sync(api) {
  const pending = holder.pp3Pending();
  if (!pending) return 0;
  const since = holder.pp3Generation();  // a log-out before the answer: nothing is saved
  const m = await vendor();
  const requests = [];
  for (let i = 0; i < Math.min(pending, 16); i++) requests.push(await m.holderRequest());
  let r;
  try {
    r = await api("/api/v1/me/pp3/certificates", { method: "POST",
      body: { commitments: requests.map((q) => holder.b64url(q.commitment)) } });
  } catch (e) {
    // already issued today (this phone lost them, or another phone has them): PP1/PP2 codes until tomorrow
    if (e && (e.code === "pp3_already_issued" || e.code === "pp3_not_enabled")) return 0;
    throw e;
  }
  const day = Math.floor(r.server_time / DAY);
  const fresh = r.certificates.map((c) => ({
    layout: CERT_LAYOUT, kid: c.kid, audience: c.audience, scheme: c.scheme, perks: c.perks, day: c.day, window: c.quota_window,
    publicKey: unb64url(r.public_key),  // per certificate: the issuer's BBS key rotates (a period at a time)
    signature: unb64url(c.signature), claimsBlock: unb64url(c.claims_block),
    secret: m.holderSecret(requests[c.commitment_index], unb64url(c.signer_nym_entropy)),
  }));
  const fresher = new Set(fresh.map((c) => `${c.audience}|${c.scheme}|${c.day}`));
  // on the record as it is when written (the code screen may have noted a code since the request went out)
  const savedNow = await holder.updatePp3((current) => {
    const old = current || { issuer: null, publicKey: null, certificates: [], shown: [] };
    const kept = old.certificates.filter((c) => c.day >= day && c.kid && old.issuer === r.issuer
      && c.layout === CERT_LAYOUT && !fresher.has(`${c.audience}|${c.scheme}|${c.day}`));
    return { ...old, issuer: r.issuer, publicKey: unb64url(r.public_key), certificates: [...kept, ...fresh] };
  }, since);
  return savedNow ? fresh.length : 0;
}

/** A fresh PP3 code for `cert` in the current slot: { text, slot, presentedAt }. No network. */
export async function present(cert) {
  const m = await vendor();
  const s = saved();
  const tNow = Math.floor(holder.now());
  const text = await m.makeCode({ cert: { ...cert, perks: cert.perks.map((p) => p.code) }, secret: cert.secret,
    publicKey: cert.publicKey || s.publicKey, issuer: s.issuer, now: tNow, window: cert.window });
  const slot = Math.floor(tNow / 30);
  return { text, slot, presentedAt: slot * 30 };
}

// The phone's own "where my codes were used": one entry per showing of the code screen (first and last
// code), pruned to KEEP_SHOWN_DAYS. Never sent anywhere.
async function remember(entry) {
  const since = holder.now() - KEEP_SHOWN_DAYS * DAY;
  await holder.updatePp3((current) => {
    const s = current || { issuer: null, publicKey: null, certificates: [], shown: [] };
    const shown = (s.shown || []).filter((x) => x.last >= since && x.id !== entry.id);
    shown.push(entry);
    return { ...s, shown: shown.slice(-MAX_SHOWN) };
  });
}

/**
 * The code screen's PP3 mode. `ui`: { audience, draw(text, until, data), showPerks(perks, scheme, others,
 * choose), setStatus(text, kind), countdown, progress, panel, announce(text) } from js/main.js's codeView.
 * Returns { tick() } for the screen's 250 ms ticker.
 */
export function codeScreen(ui) {
  const st = { scheme: null, code: null, busy: false, entry: null };
  const choice = () => {
    const all = certificatesFor(ui.audience);
    return (st.scheme && all.find((c) => c.scheme === st.scheme)) || all[0] || null;
  };
  function tick() {
    const cert = choice();
    if (!cert) return false;
    const tNow = holder.now();
    const slot = Math.floor(tNow / 30);
    const fresh = st.code && st.code.slot === slot && st.code.scheme === cert.scheme;
    if (!fresh && !st.busy) {
      st.busy = true;
      const renewed = !!st.code;
      present(cert).then((p) => {
        st.code = { ...p, scheme: cert.scheme };
        ui.draw(p.text, p.presentedAt + 30, { mode: "pp3", slot: String(p.slot) });
        const others = [...new Set(certificatesFor(ui.audience).map((c) => c.scheme))].filter((x) => x !== cert.scheme);
        ui.showPerks(cert.perks, cert.scheme, others, (x) => { st.scheme = x; st.code = null; tick(); });
        if (renewed) ui.announce(t("code.renewed"));
        const at = Math.floor(holder.now());
        if (!st.entry || st.entry.scheme !== cert.scheme) {
          st.entry = { id: `${at}-${Math.random().toString(36).slice(2, 8)}`, audience: cert.audience,
            scheme: cert.scheme, perks: cert.perks.map((x) => x.title), first: at, last: at };
        } else {
          st.entry.last = at;
        }
        remember({ ...st.entry }).catch(() => {});
      }).catch(() => { st.code = null; }).finally(() => { st.busy = false; });
    }
    if (!st.code) return true;  // the first proof is being made (tens of ms)
    ui.panel.dataset.state = "pp3-code";
    const left = (st.code.slot + 1) * 30 - tNow;
    ui.countdown.textContent = t("code.pp2.next", { time: formatDuration(left) });
    ui.countdown.classList.remove("is-low");
    ui.progress.style.width = `${Math.max(0, Math.min(100, (left / 30) * 100))}%`;
    const period = cert.window >= DAY ? say("day") : say("minutes", { n: Math.round(cert.window / 60) });
    ui.setStatus(say("status") + (lang() === "en" ? " " : "") + say("quota", { period }), "info");
    return true;
  }
  return { tick };
}

/** The history screen's section: the PP3 codes this phone showed (null when it showed none). */
export function historySection(h) {
  const shown = (saved().shown || []).slice().sort((a, b) => b.last - a.last);
  if (!shown.length) return null;
  return h("section", { class: "pp3-history", id: "pp3-history", "aria-labelledby": "pp3-history-title" },
    h("h3", { class: "section-title", id: "pp3-history-title" }, say("history.title")),
    h("p", { class: "muted small" }, say("history.lead", { days: KEEP_SHOWN_DAYS })),
    h("ol", { class: "history", id: "pp3-history-list" }, shown.map((x) =>
      h("li", { class: "card history-item", "data-audience": x.audience },
        h("div", { class: "venue-body" },
          h("span", { class: "venue-name" }, venueName(x.audience)),
          h("span", { class: "small" }, x.perks.map((p) => pick(p)).join(" · ")),
          h("time", { class: "muted small", datetime: new Date(x.last * 1000).toISOString() },
            `${say("history.shown")} · ${formatTime(x.last)}`))))));
}
