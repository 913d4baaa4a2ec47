// The citizen's own records and choices, each loaded with its screen: #/history (where my codes were used),
// #/devices (phones that can show codes offline), #/privacy (my data, opt-out), #/left, #/session.
import * as holder from "./holder.js";
import { formatDate, formatTime, localName, pick, t, venueName, addStrings } from "./i18n.js";
import { venueIcon } from "./venues.js";

// this screen's strings (js/i18n.js has the first screen's)
addStrings({
  "en": {
    "nav.history": "Code history",
    "nav.privacy": "My data",
    "holder.added": "This phone was added: it can now show your codes without signal.",
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
  },
  "zh-CN": {
    "nav.history": "使用记录",
    "nav.privacy": "我的数据",
    "holder.added": "本机已添加，现在无信号时也能出示您的二维码。",
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
  },
});

// what this screen uses of the shell (js/main.js), handed over when it is shown
let app, h, fill, add, addAfter, button, link, errorText, problemBox, alertBox, setTopbar, syncHolder, holderFull, api, ApiError, getSession, setSession;
function use(shell) {
  ({ app, h, fill, add, addAfter, button, link, errorText, problemBox, alertBox, setTopbar, syncHolder, holderFull, api, ApiError, getSession, setSession } = shell);
}

// ---- history ----------------------------------------------------------------------------------

export function historyView(route, shell) {
  use(shell);
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

export function devicesView(route, shell) {
  use(shell);
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

export function privacyView(route, shell) {
  use(shell);
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

export function leftView(route, shell) {
  use(shell);
  setTopbar(t("app.name"), null);
  add(document.getElementById("view"), h("section", { class: "card center", id: "left" },
    h("h2", { class: "page-title" }, t("privacy.done.title")),
    h("p", {}, t("privacy.done.lead")),
    app.deleted ? h("p", { class: "muted small", id: "deleted-counts" }, t("privacy.done.counts", {
      schemes: app.deleted.memberships_deleted, uses: app.deleted.redemptions_deleted })) : null,
    link(t("privacy.done.home"), "#/welcome", "btn btn-primary btn-block")));
}

export function sessionView(route, shell) {
  use(shell);
  if (getSession()) { location.replace("#/home"); return; }
  setTopbar(t("session.title"), null);
  add(document.getElementById("view"), h("section", { class: "card center", id: "session-ended" },
    h("h2", { class: "page-title" }, t("session.title")),
    h("p", {}, t("session.lead")),
    link(t("session.login"), "#/login", "btn btn-primary btn-block", { id: "relogin" })));
}
