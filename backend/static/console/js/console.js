// Perkpass console: one page, hash routes, DOM built with h() (never innerHTML from data).
import { STRINGS } from "./i18n.js";

const storedLang = localStorage.getItem("pp_console_lang");
const state = { lang: storedLang || ((navigator.language || "en").startsWith("zh") ? "zh-CN" : "en"),
                account: null, csrf: null, reviewStatus: "open" };

const t = (key, vars = {}) => (STRINGS[state.lang][key] ?? STRINGS.en[key] ?? key)
  .replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ""));

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const view = () => document.getElementById("view");
const announce = (msg) => { document.getElementById("live").textContent = msg; };
const fmtTime = (ts) => ts ? new Date(ts * 1000).toLocaleString(state.lang, { dateStyle: "medium", timeStyle: "short" }) : t("k.never");
function fmtAge(s) {
  if (s < 3600) return `${Math.max(0, Math.floor(s / 60))} ${t("min")}`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)} ${t("h")}`;
  return `${Math.floor(s / 86400)} ${t("d")}`;
}

class SignedOut extends Error {}

async function api(path, { method = "GET", body } = {}) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const r = await fetch("/console/api/" + path, { method, headers, credentials: "same-origin",
                                                 body: body === undefined ? undefined : JSON.stringify(body) });
  let data = {};
  try { data = await r.json(); } catch { data = {}; }
  if (r.status === 401 && data.error && data.error.code === "signed_out") throw new SignedOut();
  if (!r.ok) { const e = new Error((data.error && data.error.message) || `HTTP ${r.status}`); e.code = data.error && data.error.code; e.status = r.status; throw e; }
  return data;
}

// ------------------------------------------------------------------------------------ chrome
const ROUTES = {
  operator: ["overview", "kiosks", "keys", "replays", "catalogue", "accounts"],
  reviewer: ["review"],
};

function chrome() {
  document.documentElement.lang = state.lang;
  document.title = t("brand");
  document.getElementById("brand").textContent = t("brand");
  document.getElementById("skip").textContent = t("skip");
  const lang = document.getElementById("lang");
  lang.textContent = t("lang");
  lang.setAttribute("lang", state.lang === "en" ? "zh-CN" : "en");
  const nav = document.getElementById("nav");
  const out = document.getElementById("logout");
  nav.replaceChildren();
  nav.setAttribute("aria-label", t("brand"));
  if (state.account) {
    const current = route();
    for (const r of ROUTES[state.account.role] || []) {
      nav.append(h("a", { href: "#/" + r, "aria-current": r === current ? "page" : null }, t("nav." + r)));
    }
    nav.hidden = false;
    // on a phone the links are one row that scrolls sideways: the current screen's link is in view
    const here = nav.querySelector("[aria-current=page]");
    if (here && nav.scrollWidth > nav.clientWidth) nav.scrollLeft = Math.max(0, here.offsetLeft - nav.offsetLeft - 8);
    out.hidden = false;
    out.textContent = t("logout");
    document.getElementById("who").textContent = `${state.account.username} · ${t("acc." + state.account.role)}`;
  } else {
    nav.hidden = true; out.hidden = true; document.getElementById("who").textContent = "";
  }
}

function route() {
  const r = (location.hash || "").replace(/^#\/?/, "");
  const allowed = state.account ? ROUTES[state.account.role] : [];
  return allowed.includes(r) ? r : allowed[0];
}

let renderSeq = 0;

async function render() {
  const seq = ++renderSeq;  // a newer render (language switch, navigation) wins over a slower older one
  chrome();
  const v = view();
  if (!state.account) { v.replaceChildren(loginForm()); return; }
  const r = route();
  try {
    const screen = await SCREENS[r]();
    if (seq !== renderSeq) return;
    v.replaceChildren(...[].concat(screen).flat(Infinity));
    v.dataset.screen = r;
    v.dataset.lang = state.lang;
  } catch (e) {
    if (e instanceof SignedOut) { state.account = null; render(); announce(t("signed_out")); return; }
    v.replaceChildren(h("p", { class: "notice bad", role: "alert" }, t("error", { msg: e.message })));
  }
}

// ------------------------------------------------------------------------------------ sign-in
function loginForm() {
  const msg = h("p", { class: "notice bad", role: "alert", hidden: true, id: "login-error" });
  const form = h("form", { class: "stack", id: "login-form" },
    h("div", {}, h("label", { for: "username" }, t("login.user")), h("input", { id: "username", name: "username", autocomplete: "username", required: true })),
    h("div", {}, h("label", { for: "password" }, t("login.password")), h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("div", {}, h("label", { for: "code" }, t("login.code")), h("input", { id: "code", name: "code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6", required: true })),
    h("button", { class: "primary", type: "submit" }, t("login.submit")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    msg.hidden = true;
    try {
      const out = await api("login", { method: "POST", body: { username: form.username.value, password: form.password.value, code: form.code.value } });
      state.account = out.account; state.csrf = out.csrf;
      location.hash = "#/" + ROUTES[out.account.role][0];
      render();
    } catch (e) {
      msg.textContent = e.code === "account_locked" ? t("login.locked") : (e.code === "invalid_credentials" ? t("login.failed") : t("error", { msg: e.message }));
      msg.hidden = false;
      form.code.value = "";
    }
  });
  return h("section", { class: "card login" }, h("h1", {}, t("login.title")), msg, form);
}

// ------------------------------------------------------------------------------------ screens
function stat(n, label, level) {
  return h("div", { class: "card stat" }, h("span", { class: "n" + (level ? " " + level : "") }, n), h("span", { class: "l" }, label));
}

// ------------------------------------------------------------------------------------ charts
// Each chart is an SVG the server draws, with beside it the legend and the figures as a table, made by the
// server from the same data (/console/api/charts): colours mean the same in every chart and table.
const SVG_NS = "http://www.w3.org/2000/svg";
function swatch(colour, mark = "bar") {
  const svg = document.createElementNS(SVG_NS, "svg");
  for (const [k, v] of Object.entries({ width: 18, height: 14, viewBox: "0 0 18 14", "aria-hidden": "true", class: "swatch" })) svg.setAttribute(k, v);
  const shape = document.createElementNS(SVG_NS, mark === "line" ? "g" : (mark === "count" ? "path" : "rect"));
  if (mark === "line") {
    const line = document.createElementNS(SVG_NS, "line");
    for (const [k, v] of Object.entries({ x1: 1, y1: 7, x2: 17, y2: 7, stroke: colour, "stroke-width": 2 })) line.setAttribute(k, v);
    const dot = document.createElementNS(SVG_NS, "circle");
    for (const [k, v] of Object.entries({ cx: 9, cy: 7, r: 3.5, fill: "#fff", stroke: colour, "stroke-width": 2 })) dot.setAttribute(k, v);
    shape.append(line, dot);
  } else if (mark === "count") {
    shape.setAttribute("d", "M4 7l5 -5l5 5l-5 5z"); shape.setAttribute("fill", colour);
  } else {
    for (const [k, v] of Object.entries({ x: 1, y: 1, width: 16, height: 12, rx: 2, fill: colour })) shape.setAttribute(k, v);
  }
  svg.append(shape);
  return svg;
}

const num = (v) => typeof v === "number" ? v.toLocaleString(state.lang) : v;

// The width each chart is shown at, so the server draws it at that size (its text stays legible on a phone):
// the wide charts take the whole screen, the others share it in columns of at least 420 px (console.css)
function chartWidths() {
  const inner = Math.max(280, view().clientWidth - (window.innerWidth <= 640 ? 20 : 32));
  const cols = Math.max(1, Math.min(3, Math.floor((inner + 12) / 432)));
  return { wide: Math.round(inner - 30), narrow: Math.round((inner - 12 * (cols - 1)) / cols - 30) };
}

function chartFigure(c, query, width) {
  const legend = h("ul", { class: "legend", "aria-label": t("ov.legend") }, c.legend.map((l) => h("li", { "data-series": l.key, "data-colour": l.colour },
    swatch(l.colour, l.mark), h("span", { class: "lg-label" }, l.label),
    l.reasons.length ? h("span", { class: "lg-reasons" }, l.reasons.map((r) => h("span", { "data-reason": r.status }, r.label))) : null)));
  const tb = c.table;
  const head = h("tr", {}, tb.head.map((x, i) => h("th", { scope: "col" }, tb.col_colours && tb.col_colours[i] ? [swatch(tb.col_colours[i]), " "] : null, x)));
  const rows = tb.rows.map((r, i) => h("tr", { "data-key": tb.row_keys[i] }, r.map((v, j) => j === 0
    ? h("th", { scope: "row" }, tb.row_colours ? [swatch(tb.row_colours[i]), " "] : null, v)
    : h("td", { class: typeof v === "number" ? "num" : null }, num(v)))));
  const id = `chart-${c.name}`;
  return h("figure", { class: "card chart", id, "data-chart": c.name },
    h("h2", { id: id + "-title" }, c.title),
    h("img", { src: `/console/api/charts/${c.name}.svg?${query}&w=${width}`, alt: c.summary, width, "aria-describedby": id + "-table" }),
    c.legend.length && !c.empty ? legend : null,
    h("details", { class: "chart-table" }, h("summary", {}, t("ov.chart_table")),
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": id + "-title" },
        h("table", { id: id + "-table" }, h("caption", { class: "sr-only" }, c.title), h("thead", {}, head), h("tbody", {}, rows)))));
}

const WIDE_CHARTS = ["activity", "grants-by-hour", "refusals-per-day"];

const SCREENS = {
  async overview() {
    const days = 14;
    const query = `days=${days}&lang=${encodeURIComponent(state.lang)}&tz=${-new Date().getTimezoneOffset()}`;
    const [ov, ch] = await Promise.all([api(`overview?days=${days}`), api(`charts?${query}`)]);
    const oldest = ov.review.oldest_opened_at ? t("ov.oldest", { days: ov.review.oldest_age_days }) : t("ov.none_open");
    const figs = Object.fromEntries(ch.charts.map((c) => [c.name, c]));
    const widths = chartWidths();
    return [
      h("h1", {}, t("ov.title"), " ", h("span", { class: "muted" }, "· " + t("ov.days", { n: days }))),
      h("div", { class: "grid" },
        stat(num(ov.totals.issued), t("ov.issued")), stat(num(ov.totals.grants), t("ov.grants")),
        stat(num(ov.totals.refusals), t("ov.refusals")), stat(num(ov.totals.replays), t("ov.replays")),
        stat(ov.kiosks.online, t("ov.kiosks_online")), stat(ov.kiosks.offline, t("ov.kiosks_offline")),
        h("div", { class: "card stat", id: "queue-stat" }, h("span", { class: "n" }, ov.review.open), h("span", { class: "l" }, t("ov.queue")), h("span", { class: "l" }, " · " + oldest))),
      WIDE_CHARTS.map((n) => h("div", { class: "chart-wide" }, chartFigure(figs[n], query, widths.wide))),
      h("div", { class: "charts" }, ch.charts.filter((c) => !WIDE_CHARTS.includes(c.name)).map((c) => chartFigure(c, query, widths.narrow))),
    ];
  },

  async kiosks() {
    const data = await api("kiosks");
    const notice = h("div", { id: "kiosk-notice", "aria-live": "polite" });
    const rows = data.kiosks.map((k) => {
      const st = k.revoked ? h("span", { class: "pill bad" }, t("k.revoked")) : (k.online ? h("span", { class: "pill ok" }, t("k.online")) : h("span", { class: "pill warn" }, t("k.offline")));
      let trust = h("span", { class: "muted" }, t("k.unknown"));
      if (k.trust_list) {
        const lvl = { fresh: "ok", grace: "warn", stopped: "bad" }[k.trust_list.policy_state];
        trust = h("span", {}, t("k.trust_age", { seq: k.trust_list.seq, age: fmtAge(k.trust_list.age_seconds) }), " ",
          h("span", { class: "pill " + lvl }, t("k.policy." + k.trust_list.policy_state)),
          k.trust_list.policy_state === "grace" ? h("span", { class: "muted" }, " " + t("k.grants_until", { t: fmtTime(k.trust_list.grants_until) })) : null);
      }
      const btn = k.revoked ? null : h("button", { class: "danger", type: "button", "data-device": k.device_id, onclick: async () => {
        if (!confirm(t("k.confirm_revoke", { name: k.name }))) return;
        try { await api(`kiosks/${encodeURIComponent(k.device_id)}/revoke`, { method: "POST" }); announce(t("k.revoked_done", { name: k.name })); render(); }
        catch (e) { notice.replaceChildren(h("p", { class: "notice bad", role: "alert" }, e.message)); }
      } }, t("k.revoke"));
      return h("tr", { "data-device": k.device_id }, h("th", { scope: "row" }, k.name, h("br"), h("span", { class: "muted" }, k.device_id)),
        h("td", {}, k.venue.name, h("br"), h("span", { class: "muted" }, `${(k.venue.audience_label && k.venue.audience_label[state.lang]) || k.venue.audience} · ${k.partner}`)),
        h("td", {}, st), h("td", {}, fmtTime(k.last_seen_at)), h("td", {}, trust),
        h("td", {}, k.pending ?? "–"), h("td", {}, k.app_version ?? "–"), h("td", {}, btn));
    });
    const sel = h("select", { id: "enrol-venue", name: "venue" }, data.venues.map((v) => h("option", { value: v.id }, `${v.name} (${v.audience})`)));
    const result = h("div", { id: "enrol-result", "aria-live": "polite" });
    const form = h("form", { class: "row", id: "enrol-form" }, h("div", {}, h("label", { for: "enrol-venue" }, t("k.enrol.venue")), sel),
      h("button", { class: "primary", type: "submit" }, t("k.enrol.submit")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const out = await api(`venues/${sel.value}/enrolment-codes`, { method: "POST" });
        const venue = data.venues.find((v) => String(v.id) === String(sel.value));
        result.replaceChildren(h("p", {}, t("k.enrol.code", { venue: venue ? venue.name : sel.value, until: fmtTime(out.expires_at) })), h("p", { class: "secret", id: "enrol-code" }, out.enrolment_code));
      } catch (e) { result.replaceChildren(h("p", { class: "notice bad", role: "alert" }, e.message)); }
    });
    return [h("h1", {}, t("k.title")), notice,
      h("div", { class: "card table-wrap", tabindex: "0" }, h("table", { id: "kiosk-table" }, h("thead", {}, h("tr", {}, ["k.kiosk", "k.venue", "k.state", "k.seen", "k.trust", "k.pending", "k.version"].map((k) => h("th", { scope: "col" }, t(k))), h("td", {}))),
        h("tbody", {}, rows))),
      h("section", { class: "card" }, h("h2", {}, t("k.enrol.title")), form, result)];
  },

  async review() {
    const [data] = await Promise.all([api(`review?status=${state.reviewStatus}`), schemeNames()]);
    const tabs = h("div", { class: "row", role: "group" }, ["open", "decided"].map((s) => h("button", { type: "button", class: s === state.reviewStatus ? "primary" : "secondary", "aria-pressed": String(s === state.reviewStatus),
      onclick: () => { state.reviewStatus = s; render(); } }, t("r." + s))));
    const cases = data.cases.map(caseCard);
    return [h("h1", {}, t("r.title")), tabs, h("p", {}), cases.length ? cases : h("p", { class: "card" }, t("r.empty"))];
  },

  async keys() {
    const k = await api("keys");
    const keyTable = (rows) => rows.length ? h("table", {}, h("thead", {}, h("tr", {}, ["keys.kid", "keys.state", "keys.activates", "keys.until"].map((x) => h("th", { scope: "col" }, t(x))))),
      h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, h("code", {}, r.kid)), h("td", {}, r.state), h("td", {}, fmtTime(r.activates_at)), h("td", {}, r.signs_until ? fmtTime(r.signs_until) : "–"))))) : h("p", { class: "muted" }, t("keys.none"));
    const m = k.monitor;
    return [h("h1", {}, t("keys.title")),
      h("section", { class: "card", id: "monitor" }, h("h2", {}, t("keys.monitor")),
        h("p", { class: "notice " + m.level, role: m.level === "ok" ? null : "alert" }, h("strong", {}, m.level.toUpperCase()), " — ", m.message),
        m.sequence ? h("dl", { class: "case" },
          h("dt", {}, t("keys.seq")), h("dd", {}, "#" + m.sequence), h("dt", {}, t("keys.issued")), h("dd", {}, fmtTime(m.issued_at)),
          h("dt", {}, t("keys.next_update")), h("dd", {}, fmtTime(m.next_update)), h("dt", {}, t("keys.exp")), h("dd", {}, fmtTime(m.expires_at)),
          h("dt", {}, t("keys.first_stop")), h("dd", {}, `${m.first_stop_audience} · ${fmtTime(m.first_stop)}`)) : null),
      h("section", { class: "card table-wrap", tabindex: "0" }, h("h2", {}, t("keys.active")), keyTable(k.active)),
      h("section", { class: "card table-wrap", tabindex: "0" }, h("h2", {}, t("keys.next")), keyTable(k.next)),
      h("section", { class: "card table-wrap", tabindex: "0" }, h("h2", {}, t("keys.retired")), keyTable(k.retired)),
      h("section", { class: "card table-wrap", tabindex: "0" }, h("h2", {}, t("keys.root")), keyTable(k.root)),
      h("section", { class: "card table-wrap", tabindex: "0" }, h("h2", {}, t("keys.policy")), h("table", { id: "policy" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("keys.venue_type")), h("th", { scope: "col" }, t("keys.grace")))),
        h("tbody", {}, k.policy.map((p) => h("tr", {}, h("td", {}, (p.label && p.label[state.lang]) || p.audience), h("td", {}, fmtAge(p.grace_seconds))))))),
      h("section", { class: "card table-wrap", tabindex: "0" }, h("h2", {}, t("keys.versions")), h("table", {}, h("thead", {}, h("tr", {}, ["keys.seq", "keys.issued", "keys.exp"].map((x) => h("th", { scope: "col" }, t(x))))),
        h("tbody", {}, k.versions.map((v) => h("tr", {}, h("td", {}, "#" + v.sequence), h("td", {}, fmtTime(v.issued_at)), h("td", {}, fmtTime(v.expires_at))))))),
      h("p", { class: "muted" }, t("keys.drills"))];
  },

  async replays() {
    const [d, rs] = await Promise.all([api("replays"), api(`reasons?lang=${encodeURIComponent(state.lang)}`)]);
    // a reason in the colour of its severity, as in the overview's charts, and in words
    const reason = (k, n) => { const r = rs.reasons[k] || { label: k, colour: "#858A99" };
      return h("span", { class: "reason", "data-reason": k, "data-colour": r.colour }, swatch(r.colour), ` ${r.label} ${num(n)}`); };
    const rep = d.replays.length ? h("table", { id: "replay-table" }, h("thead", {}, h("tr", {}, ["rep.jti", "rep.scans", "rep.venues"].map((x) => h("th", { scope: "col" }, t(x))))),
      h("tbody", {}, d.replays.map((r) => h("tr", {}, h("td", {}, h("code", {}, r.jti)), h("td", {}, r.redemptions),
        h("td", {}, r.scans.map((s) => h("div", {}, `${s.venue_name} · ${s.device_id} · ${fmtTime(s.scanned_at)}`))))))) : h("p", {}, t("rep.none"));
    const an = d.anomalies.length ? h("table", { id: "anomaly-table" }, h("thead", {}, h("tr", {}, ["k.kiosk", "k.venue", "rep.day", "rep.rate", "rep.baseline", "rep.reasons"].map((x) => h("th", { scope: "col" }, t(x))))),
      h("tbody", {}, d.anomalies.map((a) => h("tr", {}, h("td", {}, a.name), h("td", {}, `${a.venue} (${a.audience})`), h("td", {}, a.day),
        h("td", {}, h("span", { class: "pill bad" }, `${Math.round(a.rate * 100)}%`), ` (${a.refusals}/${a.scans})`), h("td", {}, `${Math.round(a.baseline_rate * 100)}%`),
        h("td", {}, Object.entries(a.reasons).map(([k, n]) => reason(k, n))))))) : h("p", {}, t("rep.no_anomalies"));
    return [h("h1", {}, t("rep.title")), h("section", { class: "card table-wrap", tabindex: "0" }, h("h2", {}, t("rep.anomalies")), an),
      h("section", { class: "card table-wrap", tabindex: "0" }, h("h2", {}, t("rep.replays")), rep)];
  },

  async catalogue() {
    const d = await api("catalogue");
    const result = h("div", { id: "catalogue-result", "aria-live": "polite" });
    const label = (labels) => labels ? `${labels.en} · ${labels["zh-CN"]}` : "–";
    const data = (obj) => obj && Object.keys(obj).length ? h("code", {}, JSON.stringify(obj)) : "–";
    const card = (c) => {
      const what = `${t("cat.kind." + c.kind)} ${c.scope ? c.scope + "/" : ""}${c.code}`;
      const rows = [h("dt", {}, t("cat.proposed")), h("dd", {}, label(c.labels), " ", data(c.data)),
        h("dt", {}, t("cat.current")), h("dd", {}, c.current ? [label(c.current.labels), " ", data(c.current.data)] : t("cat.new_entry")),
        h("dt", {}, t("cat.by")), h("dd", {}, `${c.proposed_by} · ${fmtTime(c.proposed_at)}`)];
      if (c.status !== "pending") rows.push(h("dt", {}, t("cat.decided")), h("dd", {}, `${t("cat.status." + c.status)} · ${c.decided_by} · ${fmtTime(c.decided_at)}`));
      const act = async (verb) => {
        try { await api(`catalogue/changes/${c.id}/${verb}`, { method: "POST" }); announce(t("cat.done." + verb, { id: c.id })); render(); }
        catch (e) { result.replaceChildren(h("p", { class: "notice bad", role: "alert" }, e.message)); }
      };
      const actions = c.status !== "pending" ? null : (c.can_decide
        ? h("div", { class: "row" }, h("button", { class: "primary", type: "button", "data-approve": c.id, onclick: () => act("approve") }, t("cat.approve")),
            h("button", { class: "danger", type: "button", "data-reject": c.id, onclick: () => act("reject") }, t("cat.reject")))
        : h("p", { class: "notice warn", "data-own": c.id }, t("cat.own")));
      return h("article", { class: "card case", "data-change": c.id }, h("h2", {}, t("cat.change", { id: c.id }), " · ", what), h("dl", {}, rows), actions);
    };
    const kind = h("select", { id: "cat-kind", name: "kind" }, d.kinds.map((k) => h("option", { value: k }, t("cat.kind." + k))));
    const field = (id, key, attrs = {}) => h("div", {}, h("label", { for: id }, t(key)), h("input", { id, name: id, ...attrs }));
    const form = h("form", { class: "stack", id: "catalogue-form" }, h("div", {}, h("label", { for: "cat-kind" }, t("cat.kind")), kind),
      field("cat-code", "cat.code", { required: true, maxlength: "48" }), field("cat-scope", "cat.scope", { maxlength: "32" }),
      field("cat-en", "cat.label_en", { required: true, maxlength: "200" }), field("cat-zh", "cat.label_zh", { required: true, maxlength: "200", lang: "zh-CN" }),
      h("div", {}, h("label", { for: "cat-data" }, t("cat.data")), h("textarea", { id: "cat-data", name: "cat-data", maxlength: "500" })),
      h("button", { class: "primary", type: "submit" }, t("cat.propose")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let extra = {};
      try { extra = form["cat-data"].value.trim() ? JSON.parse(form["cat-data"].value) : {}; }
      catch { result.replaceChildren(h("p", { class: "notice bad", role: "alert" }, t("cat.bad_json"))); return; }
      try {
        const out = await api("catalogue/changes", { method: "POST", body: { kind: kind.value, code: form["cat-code"].value, scope: form["cat-scope"].value || undefined,
          labels: { en: form["cat-en"].value, "zh-CN": form["cat-zh"].value }, data: extra } });
        await render();
        document.getElementById("catalogue-result").replaceChildren(h("p", { class: "notice ok" }, t("cat.proposed_done", { id: out.id })));
      } catch (e) { result.replaceChildren(h("p", { class: "notice bad", role: "alert" }, e.message)); }
    });
    return [h("h1", {}, t("cat.title")), h("p", { class: "muted" }, t("cat.intro")), result,
      h("h2", {}, t("cat.pending"), " ", h("span", { class: "pill " + (d.pending.length ? "warn" : "ok"), id: "pending-count" }, String(d.pending.length))),
      d.pending.length ? d.pending.map(card) : h("p", { class: "card" }, t("cat.none")),
      h("section", { class: "card" }, h("h2", {}, t("cat.propose_title")), form),
      h("details", { class: "card" }, h("summary", {}, t("cat.history")), d.decided.map(card))];
  },

  async accounts() {
    const d = await api("accounts");
    const result = h("div", { id: "account-result", "aria-live": "polite" });
    const rows = d.accounts.map((a) => {
      const st = a.disabled_at ? h("span", { class: "pill bad" }, t("acc.disabled")) : a.locked ? h("span", { class: "pill warn" }, t("acc.locked")) : h("span", { class: "pill ok" }, t("acc.active"));
      // after a change the table is read again and says what happened (the row shows the new state)
      const act = async (what) => {
        try {
          await api(`accounts/${a.id}/${what}`, { method: "POST" });
          await showAccounts(t("acc.done." + what, { user: a.username }));
        } catch (e) { result.replaceChildren(h("p", { class: "notice bad", role: "alert" }, e.message)); }
      };
      const btns = [];
      if (a.locked) btns.push(h("button", { class: "secondary", type: "button", onclick: () => act("unlock") }, t("acc.unlock")));
      if (!a.disabled_at && a.username !== state.account.username) btns.push(h("button", { class: "danger", type: "button", onclick: () => { if (confirm(t("acc.confirm_disable", { user: a.username }))) act("disable"); } }, t("acc.disable")));
      // data-label: on a phone each row is a card and every cell says what it is (console.css)
      return h("tr", { "data-account": a.username }, h("th", { scope: "row" }, a.username),
        h("td", { "data-label": t("acc.role") }, t("acc." + a.role)), h("td", { "data-label": t("acc.state") }, st),
        h("td", { "data-label": t("acc.last") }, fmtTime(a.last_login_at)),
        h("td", { class: "actions" }, btns.length ? h("div", { class: "row" }, btns) : null));
    });
    const form = h("form", { class: "row", id: "account-form" },
      h("div", {}, h("label", { for: "new-user" }, t("acc.user")), h("input", { id: "new-user", name: "username", required: true })),
      h("div", {}, h("label", { for: "new-role" }, t("acc.role")), h("select", { id: "new-role", name: "role" }, h("option", { value: "reviewer" }, t("acc.reviewer")), h("option", { value: "operator" }, t("acc.operator")))),
      h("button", { class: "primary", type: "submit" }, t("acc.create")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const out = await api("accounts", { method: "POST", body: { username: form.username.value, role: form.role.value } });
        await showAccounts(null);
        document.getElementById("account-result").replaceChildren(h("p", {}, t("acc.created", { user: out.account.username })),
          h("p", {}, t("acc.password"), ": ", h("span", { class: "secret", id: "new-password" }, out.password)),
          h("p", {}, t("acc.secret"), ": ", h("span", { class: "secret", id: "new-secret" }, out.totp_secret)));
      } catch (e) { result.replaceChildren(h("p", { class: "notice bad", role: "alert" }, e.message)); }
    });
    return [h("h1", {}, t("acc.title")), result,
      h("div", { class: "card table-wrap", tabindex: "0" }, h("table", { id: "account-table", class: "cards-on-phone" }, h("thead", {}, h("tr", {}, ["acc.user", "acc.role", "acc.state", "acc.last", "acc.actions"].map((x) => h("th", { scope: "col" }, t(x))))), h("tbody", {}, rows))),
      h("section", { class: "card" }, h("h2", {}, t("acc.create")), form)];
  },
};

// Scheme names as citizens read them (the public catalogue), so a reviewer never reads a bare id ("moli")
let schemeNameCache = null;
async function schemeNames() {
  if (!schemeNameCache) {
    try {
      const r = await fetch("/api/v1/catalogue", { headers: { "Accept": "application/json" }, credentials: "omit" });
      const cat = r.ok ? await r.json() : { schemes: [] };
      schemeNameCache = Object.fromEntries((cat.schemes || []).map((s) => [s.code, s.name]));
    } catch { return {}; }   // offline for a moment: the id stands in, asked again next time
  }
  return schemeNameCache;
}
const schemeName = (code) => {
  const n = schemeNameCache && schemeNameCache[code];
  return n ? (n[state.lang] || n.en || code) : code;
};

// The accounts screen drawn again from the server, with a line saying what just changed
async function showAccounts(message) {
  const screen = await SCREENS.accounts();
  view().replaceChildren(...screen);
  if (message) {
    document.getElementById("account-result").replaceChildren(h("p", { class: "notice ok" }, message));
    announce(message);
  }
}

function caseCard(c) {
  const title = c.event.title[state.lang] || c.event.title.en;
  const urgent = c.days_left !== null && c.days_left <= 2;
  const left = c.days_left === null ? null : (c.days_left >= 0 ? t("r.days_left", { n: c.days_left }) : t("r.overdue", { n: -c.days_left }));
  const rule = c.rule ? `${c.rule.title[state.lang] || c.rule.title.en} (${c.rule.code})` : "–";
  const body = [
    h("h2", {}, t("r.case", { id: c.id }), " · ", title, " ",
      h("span", { class: "pill " + (c.disputed ? "info" : "warn") }, c.disputed ? t("r.dispute") : t("r.pending_review")), " ",
      left ? h("span", { class: "pill " + (urgent ? "bad" : "ok") }, left) : null),
    h("dl", {}, h("dt", {}, t("r.scheme")), h("dd", {}, c.event.scheme ? schemeName(c.event.scheme) : "–"),
      h("dt", {}, t("r.rule")), h("dd", {}, rule),
      h("dt", {}, t("r.points")), h("dd", {}, String(c.event.points)),
      h("dt", {}, t("r.source")), h("dd", {}, c.event.source.name || "–"),
      h("dt", {}, t("r.occurred")), h("dd", {}, fmtTime(c.event.occurred_at)),
      h("dt", {}, t("r.description")), h("dd", {}, c.event.description || "–")),
    h("h3", {}, t("r.statement")), c.statement ? h("blockquote", {}, c.statement) : h("p", { class: "muted" }, t("r.no_statement")),
  ];
  if (c.status === "open") {
    const err = h("p", { class: "notice bad", role: "alert", hidden: true });
    const idc = `c${c.id}-confirm`, idr = `c${c.id}-reverse`, idt = `c${c.id}-reason`;
    const form = h("form", { class: "stack decision", "data-case": c.id },
      h("fieldset", {}, h("legend", {}, t("r.decision")),
        h("label", { class: "choice" }, h("input", { type: "radio", name: "decision", value: "confirm", id: idc, required: true }), t("r.confirm")),
        h("label", { class: "choice" }, h("input", { type: "radio", name: "decision", value: "reverse", id: idr }), t("r.reverse"))),
      h("div", {}, h("label", { for: idt }, t("r.reason")), h("textarea", { id: idt, name: "reason", required: true, minlength: "10", maxlength: "2000" })),
      err, h("button", { class: "primary", type: "submit" }, t("r.submit")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const decision = form.querySelector("input[name=decision]:checked");
      try {
        await api(`review/${c.id}/decision`, { method: "POST", body: { decision: decision ? decision.value : "", reason: form.reason.value } });
        announce(t("r.done", { id: c.id }));
        render();
      } catch (e) { err.textContent = e.message; err.hidden = false; }
    });
    body.push(form);
  } else {
    // the decision in words (a code such as "reverse" is for the API, not for people)
    body.push(h("p", { class: "notice ok", "data-decision": c.decision },
      t("r.decided_as", { decision: t("r.decided." + c.decision), who: c.reviewer || "" })), h("blockquote", {}, c.decision_reason || ""));
  }
  return h("article", { class: "card case" + (urgent ? " urgent" : ""), "data-case": c.id }, body);
}

// ------------------------------------------------------------------------------------ start
document.getElementById("lang").addEventListener("click", () => {
  state.lang = state.lang === "en" ? "zh-CN" : "en";
  localStorage.setItem("pp_console_lang", state.lang);
  render();
});
document.getElementById("logout").addEventListener("click", async () => {
  try { await api("logout", { method: "POST" }); } catch { /* already signed out */ }
  state.account = null; state.csrf = null; location.hash = ""; render();
});
window.addEventListener("hashchange", () => render());

(async () => {
  try {
    const s = await api("session");
    state.account = s.account; state.csrf = s.csrf;
  } catch { state.account = null; }
  render();
})();
