// Strings of the citizen page in zh-CN and en. Keys are stable; {name} placeholders are filled by t().
import { venueLabel } from "./venues.js";

const STRINGS = {
  "en": {
    "app.name": "Perkpass",
    "lang.switch": "中文",
    "lang.switch.label": "切换到中文 (switch to Chinese)",
    "nav.back": "Back",
    "nav.history": "Code history",
    "nav.privacy": "My data",
    "offline.banner.ready": "You are offline. Your saved codes work without signal until {time}.",
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

    "auth.join.title": "Join Perkpass",
    "auth.login.title": "Log in",
    "auth.consent.title": "Before you join",
    "auth.consent.text": "Consent text",
    "auth.consent.version": "Consent text version {version}",
    "auth.consent.accept": "I have read this and I agree to join Perkpass.",
    "auth.consent.needed": "Please read the text above and tick the box to join.",
    "auth.phone": "Mobile phone number",
    "auth.phone.hint": "An 11-digit Chinese mobile number, or international form like +8613800138000.",
    "auth.send": "Send code",
    "auth.resend": "Send a new code",
    "auth.resend.wait": "New code in {s} s",
    "auth.code": "6-digit code from the text message",
    "auth.sent": "We sent a code to {phone}. It is valid for {min} minutes.",
    "auth.dev": "Development mode: your code is {code}",
    "auth.join.submit": "Join",
    "auth.login.submit": "Log in",
    "auth.switch.login": "Already joined? Log in",
    "auth.switch.join": "New here? Join Perkpass",
    "auth.no_account": "This phone number has not joined Perkpass yet. Read the consent text below to join — your code stays valid.",
    "auth.bad_phone": "That does not look like a mobile number.",
    "auth.bad_code": "Enter the 6 digits from the text message.",

    "home.title": "My Perkpass",
    "home.hello": "Phone {phone}",
    "home.scores": "My scores",
    "home.perks": "My perks by venue type",
    "home.perks.lead": "Show your code at the venue. It proves only that you have the perk.",
    "home.none": "You have not joined a credit scheme yet.",
    "home.none.lead": "Join the scheme of your city. You start at its base score; points come from records the city imports.",
    "home.join": "Join {scheme} (starts at {base})",
    "home.joined": "Joined {scheme}.",
    "home.join.more": "Join another scheme",
    "home.history": "Where my codes were used",
    "home.privacy": "My data and leaving Perkpass",
    "home.logout": "Log out",

    "score.of": "of {min}–{max}",
    "score.updated": "Updated {date}",
    "score.band": "Band: {band}",
    "score.band.range": "{band} means a score from {min} to {max} in {scheme}.",
    "score.next": "{points} more points reach “{band}”.",
    "score.top": "This is the highest band.",
    "score.unlocks.none": "No perks at your score yet.",
    "score.next.perk": "Next perk at {score}: {perk}.",
    "score.bar": "{scheme}: {score}, band {band}, range {min} to {max}",
    "score.bands": "All bands of {scheme} and their perks",
    "score.col.band": "Band",
    "score.col.range": "Score",
    "score.col.perks": "Perks from this band",
    "score.you": "you",
    "score.source": "These are the city's published rules. Your score comes from records the scheme operator imports; venues never see it.",

    "venue.perks.count": "{n} perks",
    "venue.perks.one": "1 perk",
    "venue.noperk": "No perk here",
    "perk.usage.day": "once a day",
    "perk.usage.month": "once a month",
    "venue.noperk.lead": "You have no perk at this type of venue right now, so there is no code to show.",
    "venue.show": "Show my code",
    "venue.show.for": " for {venue}",
    "score.why": "Why is my score this?",

    "code.title": "My code",
    "code.perks": "This code proves:",
    "code.valid": "Valid for {time}",
    "code.refreshing": "Getting a fresh code…",
    "code.auto": "The code refreshes by itself — no need to reload.",
    "code.brightness": "Turn your screen brightness up so the scanner reads the code at the first try.",
    "code.alt": "QR code for {venue}. Valid until {time}.",
    "code.renewed": "New code ready.",
    "code.scheme": "From {scheme}",
    "code.scheme.other": "Use {scheme} instead",
    "code.offline": "You are offline. The code stays valid for {time}; a fresh one comes when you are back online.",
    "code.offline.expired": "You are offline and this code has expired. Connect to the internet to get a fresh code.",
    "code.session": "Your session has ended. This code still works for {time}; log in again for fresh codes.",
    "code.session.expired": "Your session has ended. Log in again to show your code.",
    "code.error": "We could not get a fresh code. Trying again…",
    "code.error.live": "We could not get a fresh code yet; this one still works for {time}. Trying again…",
    "code.expired": "This code has expired.",
    "code.retry": "Try again",
    "code.noperk.title": "No perk here",
    "code.box.offline": "Offline: no valid code",
    "code.box.session": "Log in again to show your code",
    "code.wakelock": "The screen stays on while your code is shown.",
    "code.pp2.offline": "No signal needed: this code was made on your phone and a new one comes every 30 seconds.",
    "code.pp2.session": "Log in again to renew your codes. Until then this code, made on your phone, works.",
    "code.pp2.next": "New code in {time}",
    "code.renew": "The codes saved on this phone have expired. Connect to the internet once to renew them.",
    "code.box.renew": "Connect once to renew",
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
    "holder.added": "This phone was added: it can now show your codes without signal.",
    "auth.preparing": "Getting your codes ready for use without signal…",
    "home.devices": "Phones that can show codes offline",
    "devices.title": "My phones",
    "devices.lead": "Each phone or browser below holds its own key and can show your codes without signal. Remove one you no longer use or have lost: its codes stop working at every venue that updates.",
    "devices.this": "This phone",
    "devices.added": "Added {date}",
    "devices.certified": "Codes renewed {time}",
    "devices.remove": "Remove",
    "devices.remove.confirm": "Tap again to remove",
    "devices.removed": "Removed. Its codes are withdrawn.",
    "devices.none": "No phone holds offline codes yet. Open your code once while online and this phone is added.",
    "devices.unsupported": "This browser cannot keep a private key, so it shows codes only while online.",

    "history.title": "Where my codes were used",
    "history.lead": "Venues report each code they accept. Only you can see this list.",
    "history.kept": "Each record is deleted {days} days after the code was used.",
    "history.empty": "None of your codes has been used yet.",
    "history.at": "{venue}",
    "history.replay": "This code was also accepted at another venue. If you did not show it there, someone may have copied it: do not share screenshots of your code.",

    "privacy.title": "My data and leaving Perkpass",
    "privacy.consent": "You joined on {date} and accepted consent text version {version}.",
    "privacy.leave": "Leave Perkpass",
    "privacy.leave.lead": "Leaving is immediate and cannot be undone. It deletes:",
    "privacy.del.account": "your account and the fingerprint of your phone number",
    "privacy.del.scores": "your scores in every scheme and their history",
    "privacy.del.consent": "your consent record",
    "privacy.del.history": "the record of where your codes were used",
    "privacy.keep": "Venues keep only the pseudonyms they saw, which can no longer be linked to you. Codes you already showed expire within two minutes. You can join again later, starting from the base score.",
    "privacy.confirm.box": "I understand that my data will be deleted.",
    "privacy.confirm.first": "Tick the box above to confirm first.",
    "privacy.done.counts": "Deleted: {schemes} scheme membership(s) with their scores, {uses} record(s) of where codes were used.",
    "privacy.delete": "Delete my data",
    "privacy.confirm.title": "Delete everything?",
    "privacy.confirm.lead": "Your account, scores, consent and code history are deleted now.",
    "privacy.confirm.yes": "Yes, delete my data",
    "privacy.confirm.no": "Cancel",
    "privacy.done.title": "Your data has been deleted",
    "privacy.done.lead": "Perkpass no longer holds anything about you. Thank you for trying it.",
    "privacy.done.home": "Back to the start",

    "session.title": "Your session has ended",
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
    "nav.history": "使用记录",
    "nav.privacy": "我的数据",
    "offline.banner.ready": "您已离线。本机保存的二维码无需信号即可使用，有效至 {time}。",
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

    "auth.join.title": "加入 Perkpass",
    "auth.login.title": "登录",
    "auth.consent.title": "加入前请阅读",
    "auth.consent.text": "同意书全文",
    "auth.consent.version": "知情同意书版本 {version}",
    "auth.consent.accept": "我已阅读并同意加入 Perkpass。",
    "auth.consent.needed": "请阅读上方内容并勾选同意后再加入。",
    "auth.phone": "手机号码",
    "auth.phone.hint": "11 位中国大陆手机号，或国际格式如 +8613800138000。",
    "auth.send": "获取验证码",
    "auth.resend": "重新获取验证码",
    "auth.resend.wait": "{s} 秒后可重新获取",
    "auth.code": "短信中的 6 位验证码",
    "auth.sent": "验证码已发送至 {phone}，{min} 分钟内有效。",
    "auth.dev": "开发模式：您的验证码是 {code}",
    "auth.join.submit": "加入",
    "auth.login.submit": "登录",
    "auth.switch.login": "已加入？去登录",
    "auth.switch.join": "首次使用？加入 Perkpass",
    "auth.no_account": "该手机号尚未加入 Perkpass。请阅读下方知情同意书后加入，验证码仍然有效。",
    "auth.bad_phone": "请输入正确的手机号码。",
    "auth.bad_code": "请输入短信中的 6 位数字。",

    "home.title": "我的 Perkpass",
    "home.hello": "手机 {phone}",
    "home.scores": "我的信用分",
    "home.perks": "我的权益（按场所类型）",
    "home.perks.lead": "在场所出示二维码即可，二维码只证明您享有该权益。",
    "home.none": "您尚未加入任何信用体系。",
    "home.none.lead": "加入您所在城市的信用体系，从基础分开始；分数来自城市导入的信用记录。",
    "home.join": "加入{scheme}（初始 {base} 分）",
    "home.joined": "已加入{scheme}。",
    "home.join.more": "加入其他信用体系",
    "home.history": "二维码使用记录",
    "home.privacy": "我的数据与退出",
    "home.logout": "退出登录",

    "score.of": "范围 {min}–{max}",
    "score.updated": "更新于 {date}",
    "score.band": "等级：{band}",
    "score.band.range": "在{scheme}中，“{band}”指 {min} 至 {max} 分。",
    "score.next": "再得 {points} 分可达“{band}”。",
    "score.top": "已是最高等级。",
    "score.unlocks.none": "当前分数暂无权益。",
    "score.next.perk": "{score} 分可享下一项权益：{perk}。",
    "score.bar": "{scheme}：{score} 分，等级 {band}，范围 {min} 至 {max}",
    "score.bands": "{scheme}的全部等级及对应权益",
    "score.col.band": "等级",
    "score.col.range": "分数",
    "score.col.perks": "自该等级起可享",
    "score.you": "您",
    "score.source": "以上为城市公布的规则。您的分数来自信用体系运营方导入的记录，场所永远看不到您的分数。",

    "venue.perks.count": "{n} 项权益",
    "venue.perks.one": "1 项权益",
    "venue.noperk": "此处暂无权益",
    "perk.usage.day": "每天一次",
    "perk.usage.month": "每月一次",
    "venue.noperk.lead": "您目前在此类场所没有可用权益，因此没有可出示的二维码。",
    "venue.show": "出示二维码",
    "venue.show.for": "（{venue}）",
    "score.why": "我的分数为什么是这样？",

    "code.title": "我的二维码",
    "code.perks": "此二维码证明：",
    "code.valid": "有效期还剩 {time}",
    "code.refreshing": "正在获取新的二维码…",
    "code.auto": "二维码会自动刷新，无需重新加载页面。",
    "code.brightness": "请调高屏幕亮度，便于扫码设备一次识别。",
    "code.alt": "{venue}二维码，有效期至 {time}。",
    "code.renewed": "新的二维码已生成。",
    "code.scheme": "来自{scheme}",
    "code.scheme.other": "改用{scheme}",
    "code.offline": "您已离线。当前二维码还可使用 {time}，恢复联网后会自动获取新码。",
    "code.offline.expired": "您已离线，当前二维码已过期。请连接网络以获取新的二维码。",
    "code.session": "登录已过期。当前二维码还可使用 {time}，请重新登录以获取新码。",
    "code.session.expired": "登录已过期，请重新登录后出示二维码。",
    "code.error": "暂时无法获取新的二维码，正在重试…",
    "code.error.live": "暂时无法获取新的二维码，当前二维码还可使用 {time}。正在重试…",
    "code.expired": "此二维码已过期。",
    "code.retry": "重试",
    "code.noperk.title": "此处暂无权益",
    "code.box.offline": "已离线：暂无有效二维码",
    "code.box.session": "请重新登录后出示二维码",
    "code.wakelock": "出示二维码期间屏幕保持常亮。",
    "code.pp2.offline": "无需信号：此二维码由您的手机生成，每 30 秒自动更新。",
    "code.pp2.session": "请重新登录以续期二维码。在此之前，手机生成的此二维码仍可使用。",
    "code.pp2.next": "{time} 后更新",
    "code.renew": "本机保存的二维码已过期，请联网一次以续期。",
    "code.box.renew": "请联网一次以续期",
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
    "holder.added": "本机已添加，现在无信号时也能出示您的二维码。",
    "auth.preparing": "正在准备无信号时可用的二维码…",
    "home.devices": "可离线出示二维码的手机",
    "devices.title": "我的手机",
    "devices.lead": "以下每部手机或浏览器都有自己的密钥，无信号时也能出示您的二维码。移除不再使用或丢失的设备后，其二维码在已更新的场所将失效。",
    "devices.this": "本机",
    "devices.added": "添加于 {date}",
    "devices.certified": "二维码续期于 {time}",
    "devices.remove": "移除",
    "devices.remove.confirm": "再次点击以移除",
    "devices.removed": "已移除，其二维码已撤销。",
    "devices.none": "尚无手机保存离线二维码。联网时打开一次二维码，本机即会添加。",
    "devices.unsupported": "此浏览器无法保存私钥，只能在联网时出示二维码。",

    "history.title": "二维码使用记录",
    "history.lead": "场所每次核验通过都会上报记录，此列表仅您本人可见。",
    "history.kept": "每条记录在二维码使用 {days} 天后删除。",
    "history.empty": "您的二维码尚未被使用。",
    "history.at": "{venue}",
    "history.replay": "此二维码还在另一场所被核验通过。如果不是您本人出示，可能有人复制了您的二维码：请勿分享二维码截图。",

    "privacy.title": "我的数据与退出",
    "privacy.consent": "您于 {date} 加入，并同意了知情同意书版本 {version}。",
    "privacy.leave": "退出 Perkpass",
    "privacy.leave.lead": "退出立即生效且无法撤销，将删除：",
    "privacy.del.account": "您的账户及手机号指纹",
    "privacy.del.scores": "您在各信用体系中的分数及其历史",
    "privacy.del.consent": "您的知情同意记录",
    "privacy.del.history": "您的二维码使用记录",
    "privacy.keep": "场所只保留曾看到的假名，退出后无法再与您关联。已出示的二维码将在两分钟内过期。您以后可以重新加入，从基础分开始。",
    "privacy.confirm.box": "我知晓我的数据将被删除。",
    "privacy.confirm.first": "请先勾选上方的确认框。",
    "privacy.done.counts": "已删除：{schemes} 个信用体系的分数记录，{uses} 条二维码使用记录。",
    "privacy.delete": "删除我的数据",
    "privacy.confirm.title": "确定删除全部数据？",
    "privacy.confirm.lead": "您的账户、分数、知情同意记录和二维码使用记录将立即删除。",
    "privacy.confirm.yes": "确定删除",
    "privacy.confirm.no": "取消",
    "privacy.done.title": "您的数据已删除",
    "privacy.done.lead": "Perkpass 已不再保存任何关于您的信息。感谢您的使用。",
    "privacy.done.home": "返回首页",

    "session.title": "登录已过期",
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
