// The home screen's scores, bands and venue cards: drawn once the catalogue is there, after "Show my code"
// (js/main.js draws that from /me alone), so these bytes are not on its way (docs/performance.md, citizen page).
// js/main.js fetches this module when the home screen has its "Show my code"; the service worker keeps it.
import { formatDate, lang, pick, t, venueName, addStrings } from "./i18n.js";
import { venueIcon } from "./venues.js";

// the shell's helpers (js/main.js), set by homeContent
let app, h, add, addFirst, link, button, alertBox, problemBox, api, ApiError, syncHolder, logout, sortVenues;

// this screen's strings (js/i18n.js has those drawn before the catalogue)
addStrings({
  "en": {
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
    "venue.show": "Show my code",
    "venue.show.for": " for {venue}",
    "score.why": "Why is my score this?",
    "home.devices": "Phones that can show codes offline",
  },
  "zh-CN": {
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
    "venue.show": "出示二维码",
    "venue.show.for": "（{venue}）",
    "score.why": "我的分数为什么是这样？",
    "home.devices": "可离线出示二维码的手机",
  },
});

export function homeContent(me, cat, reload, shell) {
  ({ app, h, add, addFirst, link, button, alertBox, problemBox, api, ApiError, syncHolder, logout, sortVenues } = shell);
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
