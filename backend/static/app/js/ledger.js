// "Why is my score this?" — the citizen's ledger (#/score and #/score/<scheme>), docs/ledger.md.
// Every event with its source, points, status and review; a dispute button on each record that can
// still be disputed. Reads GET /api/v1/me/score[/<scheme>], writes POST /api/v1/me/score/events/<id>/dispute.
// Self-contained (own strings, own tiny DOM helper) so main.js only needs two hooks: the route and a link.
// DOM is built with createElement/textContent only: API text can never inject markup.
import { formatTime, lang, localName, pick } from "./i18n.js";

// the API client comes from the shell (js/main.js) with the screen
let api, ApiError;

const S = {
  "en": {
    "title": "Why is my score this?",
    "link": "Why is my score this?",
    "lead": "Every point has a source. If a record is wrong you can dispute it and a person will decide.",
    "formula": "Starting score {base} {op} {points} from the records that count = {score}",
    "formula.clamped": "Starting score {base} {op} {points} from the records that count, kept within {min}–{max} = {score}",
    "pending": "Waiting for a reviewer, not counted yet: {points}.",
    "frozen": "Not counted yet, and under review with your dispute: {points}.",
    "next": "{points} more to reach {band}.",
    "next.perk": "{points} more unlock {perk}.",
    "top": "You are in the highest band.",
    "records": "Records",
    "empty": "No records yet.",
    "source": "From {name}",
    "source.you": "When you joined",
    "source.platform": "From the city platform",
    "occurred": "Happened {date}",
    "recorded": "Recorded {date}",
    "ref": "Reference {ref}",
    "counts": "Counts",
    "not.counts": "Does not count",
    "status.pending_review": "Waiting for a reviewer",
    "status.confirmed": "Confirmed",
    "status.disputed": "Under review — stays as it was until a reviewer decides",
    "status.reversed": "Reversed after your dispute",
    "status.rejected": "Rejected by a reviewer",
    "status.withdrawn": "Withdrawn by the department that sent it",
    "decision.withdraw": "The department withdrew this record on {date}.",
    "you.wrote": "You wrote: “{text}”",
    "decision.confirm": "A reviewer confirmed this record on {date}.",
    "decision.reverse": "A reviewer reversed this record on {date}.",
    "decision.reason": "Reason: {text}",
    "waiting": "A reviewer will decide. You will see the decision and the reason here.",
    "dispute": "Dispute this record",
    "dispute.until": "You can dispute it until {date}.",
    "dispute.pending": "You can dispute it while it waits for a reviewer.",
    "dialog.title": "Dispute this record",
    "dialog.lead": "Tell the reviewer why this record is wrong (at least 10 characters). You can dispute a record once.",
    // what a dispute does to the record (EventStatus.DISPUTED: it counts exactly as it did before the dispute)
    "dialog.hold.counts": "While it is reviewed, this record keeps counting ({points}) as it does now; your score changes only if a reviewer reverses it.",
    "dialog.hold.waiting": "While it is reviewed, this record still does not count, as now; a reviewer decides whether it ever will.",
    "dialog.label": "Why is it wrong?",
    "dialog.send": "Send dispute",
    "dialog.cancel": "Cancel",
    "dialog.short": "Please write at least 10 characters.",
    "sent": "Your dispute was sent. The record is under review; it stays as it was until a reviewer decides.",
    "err.window": "The time to dispute this record has passed.",
    "err.already": "This record has already been disputed.",
    "err.rate": "Too many disputes in a short time; please try again later.",
    "err.generic": "That did not work; please try again.",
    "err.offline": "You are offline; check your connection and try again.",
    "loading": "Loading…",
    "none": "You have not joined a scheme yet.",
    "back": "Back to my scores",
    "all": "All my schemes",
    "points": "{sign}{n} points",
    "point": "{sign}{n} point",
  },
  "zh-CN": {
    "title": "我的分数为什么是这样？",
    "link": "我的分数为什么是这样？",
    "lead": "每一分都有来源。如果记录有误，您可以提出异议，由工作人员人工复核决定。",
    "formula": "基础分 {base} {op} 计入的记录 {points} 分 = {score}",
    "formula.clamped": "基础分 {base} {op} 计入的记录 {points} 分，限定在 {min}–{max} 之间 = {score}",
    "pending": "{points}正在等待人工复核，暂不计入。",
    "frozen": "{points}尚未计入，正随您的异议一并复核。",
    "next": "再得 {points}即可达到“{band}”。",
    "next.perk": "再得 {points}即可享受：{perk}。",
    "top": "您已处于最高等级。",
    "records": "记录",
    "empty": "暂无记录。",
    "source": "来源：{name}",
    "source.you": "加入时",
    "source.platform": "来源：城市平台",
    "occurred": "发生于 {date}",
    "recorded": "记录于 {date}",
    "ref": "文书编号 {ref}",
    "counts": "已计入",
    "not.counts": "未计入",
    "status.pending_review": "等待人工复核",
    "status.confirmed": "已确认",
    "status.disputed": "复核中（复核决定前保持原状）",
    "status.reversed": "经您的异议已撤销",
    "status.rejected": "复核未通过，已驳回",
    "status.withdrawn": "报送部门已撤回",
    "decision.withdraw": "报送部门于 {date} 撤回了此记录。",
    "you.wrote": "您的说明：“{text}”",
    "decision.confirm": "复核人员于 {date} 确认了此记录。",
    "decision.reverse": "复核人员于 {date} 撤销了此记录。",
    "decision.reason": "理由：{text}",
    "waiting": "复核人员将作出决定，决定和理由会显示在这里。",
    "dispute": "对此记录提出异议",
    "dispute.until": "可在 {date} 前提出异议。",
    "dispute.pending": "在复核完成前可随时提出异议。",
    "dialog.title": "对此记录提出异议",
    "dialog.lead": "请告诉复核人员此记录错在哪里（至少 10 个字）。每条记录只能提出一次异议。",
    "dialog.hold.counts": "复核期间此记录照常计入（{points}），与现在相同；只有复核人员撤销它，您的分数才会改变。",
    "dialog.hold.waiting": "复核期间此记录仍不计入，与现在相同；由复核人员决定它是否计入。",
    "dialog.label": "错在哪里？",
    "dialog.send": "提交异议",
    "dialog.cancel": "取消",
    "dialog.short": "请至少写 10 个字。",
    "sent": "异议已提交。此记录正在复核，复核决定前保持原状。",
    "err.window": "此记录的异议期限已过。",
    "err.already": "此记录已提出过异议。",
    "err.rate": "短时间内提交异议过多，请稍后再试。",
    "err.generic": "操作未成功，请重试。",
    "err.offline": "您已离线，请检查网络后重试。",
    "loading": "加载中…",
    "none": "您还没有加入任何信用分项目。",
    "back": "返回我的分数",
    "all": "我的全部项目",
    "points": "{sign}{n} 分",
    "point": "{sign}{n} 分",
  },
};

function tr(key, params = {}) {
  const table = S[lang()] || S.en;
  const s = table[key] !== undefined ? table[key] : (S.en[key] !== undefined ? S.en[key] : key);
  return s.replace(/\{(\w+)\}/g, (m, name) => (!(name in params) ? m : params[name] == null ? "" : String(params[name])));
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

// Every child that goes into the page goes through h() or these: a missing value (null, undefined, false) is
// left out, never written out as the word "null" (the DOM's own append/replaceChildren turn null into text).
// tests/browser/test_screens_tell_the_truth.py checks that no other way of adding children is used.
function present(children) {
  return children.flat().filter((c) => c !== undefined && c !== null && c !== false);
}
function fill(el, ...children) { el.replaceChildren(...present(children)); return el; }
function add(el, ...children) { el.append(...present(children)); return el; }

let cssLoaded = false;
function loadCss() {
  if (cssLoaded) return;
  cssLoaded = true;
  document.head.appendChild(el("link", { rel: "stylesheet", href: "css/ledger.css" }));
}

function notice(text, kind = "error") {
  return el("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

function signed(n) {
  return tr(Math.abs(n) === 1 ? "point" : "points", { sign: n > 0 ? "+" : n < 0 ? "−" : "±", n: Math.abs(n) });
}

function amount(n) {  // unsigned, for "N more points"
  return tr(Math.abs(n) === 1 ? "point" : "points", { sign: "", n: Math.abs(n) });
}

function errorText(e) {
  if (!(e instanceof ApiError)) return tr("err.generic");
  if (e.kind === "offline") return tr("err.offline");
  if (e.code === "dispute_window_closed") return tr("err.window");
  if (e.code === "already_disputed" || e.code === "not_disputable") return tr("err.already");
  if (e.status === 429) return tr("err.rate");
  return tr("err.generic");
}

/** The link under a score card on the home view. */
export function whyLink(scheme) {
  return el("a", { class: "text-link why-link", href: `#/score/${encodeURIComponent(scheme)}`, "data-scheme": scheme,
    id: `why-${scheme}` }, tr("link"));
}

/** The #/score[/<scheme>] view. ``shell.setTopbar(title, backHref)`` comes from main.js. */
export function scoreView(route, shell) {
  ({ api, ApiError } = shell);
  loadCss();
  const scheme = route.arg || "";
  shell.setTopbar(tr("title"), "#/home");
  const view = document.getElementById("view");
  const flash = el("div", { id: "ledger-flash" });
  const body = el("div", { id: "ledger-body", "aria-busy": "true" }, el("p", { class: "muted" }, tr("loading")));
  add(view, el("h2", { class: "page-title" }, tr("title")), el("p", { class: "muted small" }, tr("lead")), flash, body);
  let alive = true;

  async function load() {
    body.setAttribute("aria-busy", "true");
    try {
      const data = scheme ? { schemes: [await api(`/api/v1/me/score/${encodeURIComponent(scheme)}`)] }
        : await api("/api/v1/me/score");
      if (!alive) return;
      if (!data.schemes.length) {
        fill(body, el("p", { class: "card empty" }, tr("none")));
        return;
      }
      fill(body, ...data.schemes.map((s) => schemeSection(s, dispute)),
        scheme ? el("p", { class: "center" }, el("a", { class: "text-link", href: "#/score" }, tr("all"))) : null);
    } catch (e) {
      if (!alive || (e instanceof ApiError && e.kind === "session")) return;
      fill(body, notice(errorText(e)));
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  }

  // one <dialog> for the view: the event it is about is set when it opens
  const textarea = el("textarea", { id: "dispute-text", rows: "5", maxlength: "2000", required: true,
    "aria-describedby": "dispute-lead dispute-hold" });
  const dlgNotice = el("div", { id: "dispute-notice" });
  let current = null;
  const send = el("button", { type: "button", class: "btn btn-primary", id: "dispute-send", on: { click: submit } },
    tr("dialog.send"));
  const cancel = el("button", { type: "button", class: "btn btn-secondary", id: "dispute-cancel",
    on: { click: () => dialog.close() } }, tr("dialog.cancel"));
  const dialog = el("dialog", { class: "dialog", id: "dispute-dialog", "aria-labelledby": "dispute-title" },
    el("h3", { id: "dispute-title" }, tr("dialog.title")),
    el("p", { id: "dispute-what", class: "strong" }),
    el("p", { id: "dispute-lead", class: "small" }, tr("dialog.lead")),
    el("p", { id: "dispute-hold", class: "small" }),
    el("label", { for: "dispute-text" }, tr("dialog.label")), textarea, dlgNotice,
    el("div", { class: "row row-end" }, cancel, send));
  add(view, dialog);

  function dispute(ev) {
    current = ev;
    textarea.value = "";
    fill(dlgNotice);
    dialog.querySelector("#dispute-what").textContent = `${pick(ev.title)} · ${signed(ev.points)}`;
    // what happens to this record while it is reviewed, from what it does now (the ledger keeps it as it is)
    dialog.querySelector("#dispute-hold").textContent = ev.counts
      ? tr("dialog.hold.counts", { points: signed(ev.points) }) : tr("dialog.hold.waiting");
    send.disabled = false;
    dialog.showModal();
    textarea.focus();
  }

  async function submit() {
    const text = textarea.value.trim();
    if (text.length < 10) { fill(dlgNotice, notice(tr("dialog.short"))); textarea.focus(); return; }
    send.disabled = true;
    try {
      await api(`/api/v1/me/score/events/${current.id}/dispute`, { method: "POST", body: { statement: text } });
      dialog.close();
      fill(flash, notice(tr("sent"), "info"));
      await load();
    } catch (e) {
      send.disabled = false;
      if (e instanceof ApiError && e.kind === "session") { dialog.close(); return; }
      fill(dlgNotice, notice(errorText(e)));
    }
  }

  load();
  return () => { alive = false; if (dialog.open) dialog.close(); };
}

function schemeSection(s, onDispute) {
  const counted = s.events.filter((e) => e.counts).reduce((a, e) => a + e.points, 0);
  const next = s.next_band ? tr("next", { points: amount(s.next_band.points_needed), band: pick(s.next_band.label) }) : tr("top");
  const nextPerk = (s.upcoming_perks || []).slice().sort((a, b) => a.points_needed - b.points_needed)[0];
  const summary = el("div", { class: "card ledger-summary", "data-scheme": s.scheme },
    el("div", { class: "score-head" }, el("h3", {}, pick(s.name))),
    el("div", { class: "score-main" },
      el("span", { class: "score-value", "data-testid": "ledger-score" }, String(s.score)),
      el("span", { class: "band-chip" }, pick(s.band.label))),
    el("p", { class: "small ledger-formula", "data-testid": "formula" },
      tr(s.clamped ? "formula.clamped" : "formula", { base: s.base, op: counted >= 0 ? "+" : "−", points: Math.abs(counted),
        score: s.score, min: s.range.min, max: s.range.max })),
    s.pending_points ? el("p", { class: "small", "data-testid": "pending" }, tr("pending", { points: signed(s.pending_points) })) : null,
    s.frozen_points ? el("p", { class: "small", "data-testid": "frozen" }, tr("frozen", { points: signed(s.frozen_points) })) : null,
    el("p", { class: "small" }, next),
    nextPerk ? el("p", { class: "small muted" }, tr("next.perk", { points: amount(nextPerk.points_needed), perk: pick(nextPerk.title) })) : null);
  const list = el("ol", { class: "ledger-list", "aria-label": tr("records") },
    s.events.map((e) => eventItem(e, onDispute)));
  return el("section", { class: "ledger-scheme", id: `ledger-${s.scheme}` },
    summary, el("h3", { class: "section-title" }, tr("records")),
    s.events.length ? list : el("p", { class: "card empty" }, tr("empty")));
}

function eventItem(e, onDispute) {
  const when = (ts) => el("time", { datetime: new Date(ts * 1000).toISOString() }, formatTime(ts));
  const statusClass = e.counts ? "is-counted" : "is-not-counted";
  const c = e.case;
  const caseBox = [];
  if (c && c.statement) caseBox.push(el("p", { class: "small ledger-statement" }, tr("you.wrote", { text: c.statement })));
  if (c && c.status === "decided") {
    caseBox.push(el("p", { class: "small strong ledger-decision", "data-decision": c.decision },
      tr(`decision.${c.decision}`, { date: formatTime(c.decided_at) })));
    if (c.decision_reason) caseBox.push(el("p", { class: "small ledger-reason" }, tr("decision.reason", { text: c.decision_reason })));
    // a provider's withdrawal names a reason code; its label comes from the catalogue, in the page's language
    if (c.reason_title) caseBox.push(el("p", { class: "small ledger-reason" }, tr("decision.reason", { text: pick(c.reason_title) })));
  } else if (c && c.status === "open" && e.status === "disputed") {
    caseBox.push(el("p", { class: "small muted" }, tr("waiting")));
  }
  let disputeRow = null;
  if (e.can_dispute) {
    disputeRow = el("div", { class: "ledger-dispute" },
      el("p", { class: "small muted" }, e.disputable_until ? tr("dispute.until", { date: formatTime(e.disputable_until) })
        : tr("dispute.pending")),
      el("button", { type: "button", class: "btn btn-secondary btn-small dispute-btn", "data-event": String(e.id),
        on: { click: () => onDispute(e) } }, tr("dispute")));
  }
  // an import's source is the platform's own label (operator-api, csv:…): the citizen reads "the city platform"
  const source = e.kind === "join" ? tr("source.you")
    : e.source.type === "operator" ? tr("source.platform") : tr("source", { name: localName(e.source) });
  return el("li", { class: `card ledger-item ${statusClass}`, "data-event": String(e.id), "data-status": e.status },
    el("div", { class: "ledger-row" },
      el("span", { class: "ledger-title strong" }, pick(e.title)),
      el("span", { class: `ledger-points ${e.points < 0 ? "is-neg" : "is-pos"}`, "data-testid": "points" },
        e.kind === "join" ? "" : signed(e.points))),
    el("p", { class: "small" }, source),
    e.description ? el("p", { class: "small" }, e.description) : null,
    el("p", { class: "small muted" }, tr("occurred", { date: "" }), when(e.occurred_at),
      e.reference ? ` · ${tr("ref", { ref: e.reference })}` : ""),
    el("p", { class: "small ledger-status", "data-testid": "status" },
      el("span", { class: "status-chip" }, tr(`status.${e.status}`)), " ",
      el("span", { class: "muted" }, e.kind === "join" ? "" : (e.counts ? tr("counts") : tr("not.counts")))),
    caseBox, disputeRow);
}
