// Join (consent + sign-up) and log in with a phone and a one-time code: #/join, #/login. Loaded with its screen.
import { lang, pick, t, addStrings } from "./i18n.js";

// this screen's strings (js/i18n.js has the first screen's)
addStrings({
  "en": {
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
    "auth.preparing": "Getting your codes ready for use without signal…",
  },
  "zh-CN": {
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
    "auth.preparing": "正在准备无信号时可用的二维码…",
  },
});

const RESEND_SECONDS = 60;
const NO_DRAFT = { phone: "", code: "", sent: false, devCode: "", expiresIn: 300, sentAt: 0 };
// what was typed, kept while the citizen moves between the two screens
let draft = { ...NO_DRAFT };

// what this screen uses of the shell (js/main.js), handed over when it is shown
let app, h, fill, add, button, link, errorText, alertBox, setTopbar, syncHolder, api, ApiError, getSession, setSession;
function use(shell) {
  ({ app, h, fill, add, button, link, errorText, alertBox, setTopbar, syncHolder, api, ApiError, getSession, setSession } = shell);
}

export const joinView = (route, shell) => authView("join", shell);
export const loginView = (route, shell) => authView("login", shell);

function authView(mode, shell) {
  use(shell);
  if (getSession()) { location.replace(app.afterLogin || "#/home"); return null; }
  const d = draft;
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
      draft = { ...NO_DRAFT };
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
