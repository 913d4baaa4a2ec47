// Strings of the citizen page in zh-CN and en. Keys are stable; {name} placeholders are filled by t().
import { venueLabel } from "./venues.js";

const STRINGS = {
  "en": {
    "app.name": "Perkpass",
    "lang.switch": "中文",
    "lang.switch.label": "切换到中文 (switch to Chinese)",
    "nav.back": "Back",
    "offline.banner.ready": "You are offline. Your saved codes work without signal until {time}.",
    "offline.banner.pp3": "You are offline. Your saved codes work without signal until {time}. Venues cannot link them to each other, except within a perk's limit (like once a day).",
    "offline.banner.pp3.then": "You are offline. Your saved codes work without signal until {time}. Until {pp3}, venues cannot link them to each other, except within a perk's limit (like once a day); after that, one kind of venue can link your codes within a day.",
    "offline.banner.expired": "You are offline and the codes saved on this phone have expired. Connect to the internet once to renew them.",
    "offline.banner.none": "You are offline. This phone has no codes saved for use without signal yet: connect to the internet once to get them.",

    "welcome.title": "Your good record, your perks — your score stays yours",
    "welcome.lead": "Perkpass lets you use the perks your city credit score earns you — deposit-free library books, metro discounts, priority lines — by showing a QR code.",
    "welcome.how": "How it works",
    "welcome.p1": "You join voluntarily. You can leave at any time and your data is deleted.",
    "welcome.p2": "At a library desk, metro gate or hospital reception you show a code that refreshes every minute.",
    "welcome.p3": "The venue learns only that you are entitled to a perk there — never your score, never anything if you have no perk.",
    "welcome.join": "Join Perkpass",
    "welcome.login": "I have joined — log in",

    "auth.bad_phone": "That does not look like a mobile number.",
    "auth.bad_code": "Enter the 6 digits from the text message.",

    "home.title": "My Perkpass",

    "code.renewed": "New code ready.",
    "code.retry": "Try again",
    "code.pp2.next": "New code in {time}",
    "code.clock.fast": "Your phone's clock is {min} min fast. Codes made on this phone are corrected for it. If you change the clock, open Perkpass once with signal before you show a code without signal, or gates will refuse it.",
    "code.clock.slow": "Your phone's clock is {min} min slow. Codes made on this phone are corrected for it. If you change the clock, open Perkpass once with signal before you show a code without signal, or gates will refuse it.",
    "code.clock.changed": "Your phone's clock has changed since you were last online, so gates may refuse the codes this phone makes. Connect to the internet once to fix this.",
    "quick.title": "Show my code",
    "quick.code": "{venue} code",
    "quick.ready": "Ready without signal until {time}.",
    "quick.wallet": "You are not logged in. Your saved codes work without signal until {time}; log in to see your scores and renew them.",
    "quick.wallet.expired": "The codes saved on this phone have expired. Connect to the internet and log in once to renew them.",
    "holder.full": "This phone cannot keep codes for use without signal: your account already has the most phones allowed. Remove one you no longer use and this phone is added.",
    "holder.full.link": "My phones",

    "history.title": "Where my codes were used",
    "history.lead": "Venues report each code they accept. Only you can see this list.",

    "session.lead": "For your safety you are logged out after a while. Log in again with a new code.",
    "session.login": "Log in again",

    "err.offline": "You are offline. This page fills in by itself when the connection is back.",
    "err.rate": "Too many attempts. Wait a minute and try again.",
    "err.server": "Something went wrong on our side. Please try again in a moment.",
    "err.invalid_code": "The code is wrong or has expired. Request a new one.",
    "err.generic": "That did not work. Please try again.",
    "loading": "Loading…",

  },

  "zh-CN": {
    "app.name": "Perkpass 信用惠民",
    "lang.switch": "English",
    "lang.switch.label": "Switch to English (切换到英文)",
    "nav.back": "返回",
    "offline.banner.ready": "您已离线。本机保存的二维码无需信号即可使用，有效至 {time}。",
    "offline.banner.pp3": "您已离线。本机保存的二维码无需信号即可使用，有效至 {time}。场所无法把这些二维码相互关联，仅在权益限次范围内（如每天一次）除外。",
    "offline.banner.pp3.then": "您已离线。本机保存的二维码无需信号即可使用，有效至 {time}。{pp3} 之前，场所无法把这些二维码相互关联，仅在权益限次范围内（如每天一次）除外；之后，同一类场所在一天内可以关联您的二维码。",
    "offline.banner.expired": "您已离线，本机保存的二维码已过期。请联网一次以续期。",
    "offline.banner.none": "您已离线。本机尚未保存可离线使用的二维码：请联网一次以获取。",

    "welcome.title": "守信有礼 —— 您的分数只属于您",
    "welcome.lead": "Perkpass 让您凭二维码享受城市信用分带来的权益：图书馆免押金借书、地铁乘车优惠、优先窗口等。",
    "welcome.how": "如何使用",
    "welcome.p1": "自愿加入，可随时退出，退出即删除您的数据。",
    "welcome.p2": "在图书馆服务台、地铁闸机或医院前台出示二维码，二维码每分钟自动刷新。",
    "welcome.p3": "场所只知道您在该处享有某项权益 —— 看不到您的分数；没有权益时也不会得知任何信息。",
    "welcome.join": "加入 Perkpass",
    "welcome.login": "我已加入，去登录",

    "auth.bad_phone": "请输入正确的手机号码。",
    "auth.bad_code": "请输入短信中的 6 位数字。",

    "home.title": "我的 Perkpass",

    "code.renewed": "新的二维码已生成。",
    "code.retry": "重试",
    "code.pp2.next": "{time} 后更新",
    "code.clock.fast": "您的手机时间快了 {min} 分钟。本机生成的二维码已按此校正。如果您调整了手机时间，请先联网打开一次 Perkpass，再在无信号时出示二维码，否则会被闸机拒绝。",
    "code.clock.slow": "您的手机时间慢了 {min} 分钟。本机生成的二维码已按此校正。如果您调整了手机时间，请先联网打开一次 Perkpass，再在无信号时出示二维码，否则会被闸机拒绝。",
    "code.clock.changed": "自上次联网以来，您的手机时间被更改过，本机生成的二维码可能被拒绝。请联网一次以修正。",
    "quick.title": "出示二维码",
    "quick.code": "{venue}二维码",
    "quick.ready": "无信号也可使用，有效至 {time}。",
    "quick.wallet": "您尚未登录。本机保存的二维码无需信号即可使用，有效至 {time}；登录后可查看信用分并续期二维码。",
    "quick.wallet.expired": "本机保存的二维码已过期。请联网并登录一次以续期。",
    "holder.full": "本机无法保存离线二维码：您的账号绑定的手机已达上限。移除一部不再使用的手机后，本机即会添加。",
    "holder.full.link": "我的手机",

    "history.title": "二维码使用记录",
    "history.lead": "场所每次核验通过都会上报记录，此列表仅您本人可见。",

    "session.lead": "为保障安全，登录一段时间后会自动退出。请使用新的验证码重新登录。",
    "session.login": "重新登录",

    "err.offline": "您已离线。网络恢复后页面会自动更新。",
    "err.rate": "尝试次数过多，请稍等一分钟后再试。",
    "err.server": "服务暂时出现问题，请稍后再试。",
    "err.invalid_code": "验证码错误或已过期，请重新获取。",
    "err.generic": "操作未成功，请重试。",
    "loading": "加载中…",

  },
};

// A screen in its own module (js/code.js, js/auth.js, js/account.js) brings its own strings in both languages,
// added when it loads: the first screen downloads only its own.
export function addStrings(tables) {
  for (const [l, table] of Object.entries(tables)) Object.assign(STRINGS[l] ||= {}, table);
}

export const LANGS = ["zh-CN", "en"];
const LANG_KEY = "perkpass.lang";
let current = null;

export function detectLang() {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch (_) { /* storage disabled */ }
  const prefs = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"]);
  for (const p of prefs) {
    const l = String(p).toLowerCase();
    if (l.startsWith("zh")) return "zh-CN";
    if (l.startsWith("en")) return "en";
  }
  return "zh-CN";
}

export function setLang(lang, remember = false) {
  current = LANGS.includes(lang) ? lang : "zh-CN";
  document.documentElement.lang = current;
  if (remember) {
    try { localStorage.setItem(LANG_KEY, current); } catch (_) { /* ignore */ }
  }
  return current;
}

export function lang() {
  return current || setLang(detectLang());
}

export function t(key, params = {}) {
  const table = STRINGS[lang()] || STRINGS.en;
  let s = table[key];
  if (s === undefined) s = STRINGS.en[key];
  if (s === undefined) return key;
  // a missing value (null, undefined) reads as nothing, never as the word "null"
  return s.replace(/\{(\w+)\}/g, (m, name) => (!(name in params) ? m : params[name] == null ? "" : String(params[name])));
}

export function has(key) {
  return key in STRINGS[lang()];
}

// A {en, zh-CN} object from the API, in the current language.
export function pick(obj) {
  if (!obj || typeof obj !== "object") return obj == null ? "" : String(obj);
  return obj[lang()] || obj.en || obj["zh-CN"] || "";
}

// A name the backend keeps in both languages ({name, name_zh}: a venue, a data provider): Chinese when the
// page is in Chinese and the name has a Chinese form
export function localName(x) {
  if (!x) return "";
  return (lang() === "zh-CN" && x.name_zh) || x.name || "";
}

// A venue type's name from the registry (js/venues.js); its code, readable, before the registry is known
export function venueName(audience) {
  return venueLabel(audience, lang()) || audience.replace(/-/g, " ").replace(/^./, (c) => c.toUpperCase());
}

export function formatTime(epochSeconds, withDate = true) {
  const d = new Date(epochSeconds * 1000);
  const opts = withDate ? { dateStyle: "medium", timeStyle: "short" } : { timeStyle: "medium" };
  return new Intl.DateTimeFormat(lang(), opts).format(d);
}

export function formatDate(epochSeconds) {
  return new Intl.DateTimeFormat(lang(), { dateStyle: "long" }).format(new Date(epochSeconds * 1000));
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(s / 60);
  const r = s % 60;
  return `${m}:${String(r).padStart(2, "0")}`;
}
