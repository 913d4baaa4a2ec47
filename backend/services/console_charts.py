"""The console's charts: what each one shows, its legend and its text alternative, and its SVG (drawn here: no
JavaScript library, nothing from a CDN).

One :class:`Chart` per chart is built from the figures (services/console_stats.ChartFigures) in the viewer's
language; the SVG, the legend and the data table the page shows beside it are all made from that one object,
so the picture and its text alternative cannot disagree.

Colours mean something. A refusal is drawn in the colour of its reason's severity (partner_sdk.messages:
forged, shown again, device set-up, the citizen's code, not a Perkpass code), grants in the grant colour, the
same in every chart and table; the severities are listed most serious first and stacked in that order. The
colours keep 3:1 against white and stay apart under colour blindness (tests/sdk/test_severity.py); stacked
segments are also separated by a white line, and every chart has its legend and table in the page.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from html import escape

from partner_sdk import Status
from partner_sdk.messages import CATALOGUE, SEVERITIES, Severity, severity

from .console_stats import ChartFigures
from .venue_types import get_venue_types

FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"
INK = "#1f2937"     # text, and the "codes issued" line (a line, not a bar: told apart by shape)
MUTED = "#4b5563"
GRID = "#e5e7eb"
GRANT_COLOUR = SEVERITIES[Severity.GRANTED].colour
REFUSAL_ORDER = [Severity.FORGED, Severity.REUSED, Severity.SETUP, Severity.CITIZEN, Severity.FOREIGN]

NAMES = ["activity", "grants-by-hour", "refusals-per-day", "refusals-by-reason", "refusals-by-venue-type",
         "grants-by-venue-type"]

TEXT = {
    "en": {
        "activity": "Codes issued and grants per day", "grants-by-hour": "Grants per hour, last 24 hours",
        "refusals-per-day": "Refusals per day, by severity", "refusals-by-reason": "Refusals by reason",
        "refusals-by-venue-type": "Refusals by venue type", "grants-by-venue-type": "Grants by venue type",
        "issued": "Codes issued", "grants": "Grants", "replays": "Cross-venue replays",
        "refusals": "Refusals", "day": "Day", "hour": "Hour", "reason": "Reason",
        "severity": "Severity", "venue_type": "Venue type", "total": "Total", "empty": "No data yet",
        "days": "last {n} days", "in_all": "{n} in all", "most": "most", "busiest_day": "busiest day {d}: {n} grants",
        "busiest_hour": "busiest hour {h}: {n} grants", "none": "none",
    },
    "zh-CN": {
        "activity": "每日签发的码与通过", "grants-by-hour": "最近 24 小时每小时通过",
        "refusals-per-day": "每日拒绝（按严重程度）", "refusals-by-reason": "按原因的拒绝",
        "refusals-by-venue-type": "按场所类型的拒绝", "grants-by-venue-type": "按场所类型的通过",
        "issued": "签发的码", "grants": "通过", "replays": "跨场所重放",
        "refusals": "拒绝", "day": "日期", "hour": "时段", "reason": "原因", "severity": "严重程度",
        "venue_type": "场所类型", "total": "合计", "empty": "暂无数据", "days": "最近 {n} 天", "in_all": "共 {n}",
        "most": "最多", "busiest_day": "最多的一天 {d}：{n} 次通过", "busiest_hour": "最多的时段 {h}：{n} 次通过",
        "none": "无",
    },
}


def language(lang: str | None) -> str:
    return "zh-CN" if (lang or "").lower().startswith("zh") else "en"


def _n(v: int) -> str:
    return f"{v:,}"


# ------------------------------------------------------------------------------------------ reasons

def reason_label(status: str, lang: str) -> str:
    try:
        return CATALOGUE[Status(status)].short.get(lang)
    except ValueError:  # a status a newer kiosk reports: its name, never a guess
        return status


def reasons(lang: str) -> dict:
    """Every status and severity with its label and colour in ``lang``: what the page's tables use, so a
    reason has the colour it has in the charts."""
    return {
        "severities": [{"key": s.value, "label": SEVERITIES[s].label.get(lang), "colour": SEVERITIES[s].colour}
                       for s in [*REFUSAL_ORDER, Severity.GRANTED]],
        "reasons": {st.value: {"label": reason_label(st.value, lang), "severity": e.severity.value,
                               "colour": SEVERITIES[e.severity].colour} for st, e in CATALOGUE.items()},
    }


# ------------------------------------------------------------------------------------------ the chart

@dataclass
class Series:
    key: str
    label: str
    colour: str
    values: list[int]
    mark: str = "bar"                                            # bar | line | count (a number above a column)
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (status, label) drawn in this colour


@dataclass
class Chart:
    name: str
    title: str
    layout: str                      # "columns" (categories along x: days, hours) or "rows" (one bar per row)
    categories: list[tuple[str, str]]  # (key, label)
    series: list[Series]
    summary: str
    empty_text: str
    table_head: list[str]
    table_rows: list[list]           # first cell the category's label, then numbers (or a severity's label)
    axis_labels: list[str] = field(default_factory=list)  # column labels under the axis (short forms)
    col_keys: list[str | None] = field(default_factory=list)  # the series each table column shows (its colour)
    row_colours: list[str] | None = None  # a chart whose rows each have one colour (refusals by reason)

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)

    def legend(self) -> list[dict]:
        shown = [s for s in self.series if any(s.values) or not self.empty]
        return [{"key": s.key, "label": s.label, "colour": s.colour, "mark": s.mark,
                 "reasons": [{"status": st, "label": lb} for st, lb in s.reasons]} for s in shown]

    def to_dict(self) -> dict:
        colour = {s.key: s.colour for s in self.series}
        return {"name": self.name, "title": self.title, "summary": self.summary, "empty": self.empty,
                "legend": self.legend(),
                "table": {"head": self.table_head, "rows": self.table_rows,
                          "row_keys": [k for k, _lb in self.categories],
                          "col_colours": [colour.get(k) if k else None for k in self.col_keys] or None,
                          "row_colours": self.row_colours}}

    def svg(self, width: int | None = None) -> str:
        """The chart drawn ``width`` CSS pixels wide (the page asks for the width it will show it at, so text
        stays 12-13 px on a phone and on a wide screen alike)."""
        if self.layout == "columns":
            return _columns_svg(self, max(280, min(1400, width or 720)))
        return _rows_svg(self, max(280, min(1400, width or 440)))


# ------------------------------------------------------------------------------------------ builders

def _refusal_series(by: dict[tuple[str, str], int], keys: list[str], lang: str) -> list[Series]:
    """One series per severity (most serious first) over ``keys``, from {(key, status): n}; a severity with
    nothing in this chart is left out, and each lists the reasons that make it up here."""
    out = []
    for sev in REFUSAL_ORDER:
        statuses = sorted({st for (_k, st), n in by.items() if n and severity(st) is sev},
                          key=lambda st: -sum(n for (_k, s), n in by.items() if s == st))
        if not statuses:
            continue
        values = [sum(by.get((k, st), 0) for st in statuses) for k in keys]
        out.append(Series(sev.value, SEVERITIES[sev].label.get(lang), SEVERITIES[sev].colour, values,
                          reasons=[(st, reason_label(st, lang)) for st in statuses]))
    return out


def _top(items: list[tuple[str, int]], tx: dict, k: int = 3) -> str:
    items = [(lb, n) for lb, n in items if n]
    if not items:
        return tx["none"]
    return f"{tx['most']}: " + ", ".join(f"{lb} {_n(n)}" for lb, n in items[:k])


def build(name: str, fig: ChartFigures, lang: str) -> Chart:
    lang = language(lang)
    tx = TEXT[lang]
    title = tx[name]
    days = fig.days
    day_labels = [(d, d[5:]) for d in days]
    period = tx["days"].format(n=len(days))
    vt = get_venue_types()

    if name == "activity":
        issued = {d: 0 for d in days}
        for d, _a, n in fig.issued():
            issued[d] += n
        grants = {d: 0 for d in days}
        for d, _a, n in fig.grants():
            if d in grants:
                grants[d] += n
        replays = fig.replays()
        series = [Series("grants", tx["grants"], GRANT_COLOUR, [grants[d] for d in days]),
                  Series("issued", tx["issued"], INK, [issued[d] for d in days], mark="line"),
                  Series("replays", tx["replays"], SEVERITIES[Severity.REUSED].colour, [replays[d] for d in days],
                         mark="count")]
        busiest = max(days, key=lambda d: grants[d])
        summary = (f"{title}, {period}: {tx['issued']} {_n(sum(issued.values()))}, {tx['grants']} "
                   f"{_n(sum(grants.values()))}, {tx['replays']} {_n(sum(replays.values()))}"
                   + (f"; {tx['busiest_day'].format(d=busiest, n=_n(grants[busiest]))}" if grants[busiest] else ""))
        return Chart(name, title, "columns", day_labels, series, summary, tx["empty"],
                     [tx["day"], tx["issued"], tx["grants"], tx["replays"]],
                     [[d, issued[d], grants[d], replays[d]] for d in days], [lb for _d, lb in day_labels],
                     [None, "issued", "grants", "replays"])

    if name == "grants-by-hour":
        hours = fig.hours()
        per = fig.grants_by_hour()
        labels = [time.strftime("%H:00", time.gmtime(h + fig.tz)) for h in hours]
        # each hour by its start in the viewer's time zone; the first one is a day before the last one
        keys = [time.strftime("%Y-%m-%d %H:00", time.gmtime(h + fig.tz)) for h in hours]
        series = [Series("grants", tx["grants"], GRANT_COLOUR, per)]
        top = max(range(len(per)), key=lambda i: per[i])
        summary = (f"{title}: {tx['in_all'].format(n=_n(sum(per)))}"
                   + (f"; {tx['busiest_hour'].format(h=labels[top], n=_n(per[top]))}" if per[top] else ""))
        return Chart(name, title, "columns", list(zip(keys, labels, strict=True)), series, summary, tx["empty"],
                     [tx["hour"], tx["grants"]], [[k, n] for k, n in zip(keys, per, strict=True)],
                     [lb[:2] for lb in labels], [None, "grants"])

    refusals = fig.refusals()
    if name == "refusals-per-day":
        by: dict[tuple[str, str], int] = {}
        for d, st, _a, n in refusals:
            by[(d, st)] = by.get((d, st), 0) + n
        series = _refusal_series(by, days, lang)
        totals = [sum(s.values[i] for s in series) for i in range(len(days))]
        summary = (f"{title}, {period}: {tx['in_all'].format(n=_n(sum(totals)))}; "
                   + _top(sorted(((s.label, sum(s.values)) for s in series), key=lambda kv: -kv[1]), tx, 5))
        return Chart(name, title, "columns", day_labels, series, summary, tx["empty"],
                     [tx["day"], *[s.label for s in series], tx["total"]],
                     [[d, *[s.values[i] for s in series], totals[i]] for i, d in enumerate(days)],
                     [lb for _d, lb in day_labels], [None, *[s.key for s in series], None])

    if name == "refusals-by-reason":
        count: dict[str, int] = {}
        for _d, st, _a, n in refusals:
            count[st] = count.get(st, 0) + n
        # most serious severity first, then the largest reason within it
        order = sorted(count, key=lambda st: (REFUSAL_ORDER.index(severity(st)), -count[st], st))
        cats = [(st, reason_label(st, lang)) for st in order]
        series = _refusal_series({(st, st): n for st, n in count.items()}, order, lang)
        summary = (f"{title}, {period}: {tx['in_all'].format(n=_n(sum(count.values())))}; "
                   + _top(sorted(((reason_label(st, lang), n) for st, n in count.items()), key=lambda kv: -kv[1]),
                          tx, 5))
        return Chart(name, title, "rows", cats, series, summary, tx["empty"],
                     [tx["reason"], tx["severity"], tx["refusals"]],
                     [[reason_label(st, lang), SEVERITIES[severity(st)].label.get(lang), count[st]] for st in order],
                     row_colours=[SEVERITIES[severity(st)].colour for st in order])

    if name == "refusals-by-venue-type":
        by = {}
        for _d, st, a, n in refusals:
            by[(a, st)] = by.get((a, st), 0) + n
        auds = sorted({a for a, _st in by}, key=lambda a: -sum(n for (x, _s), n in by.items() if x == a))
        cats = [(a, vt.label(a, lang)) for a in auds]
        series = _refusal_series(by, auds, lang)
        totals = [sum(s.values[i] for s in series) for i in range(len(auds))]
        summary = (f"{title}, {period}: {tx['in_all'].format(n=_n(sum(totals)))}; "
                   + _top([(lb, totals[i]) for i, (_a, lb) in enumerate(cats)], tx, 5))
        return Chart(name, title, "rows", cats, series, summary, tx["empty"],
                     [tx["venue_type"], *[s.label for s in series], tx["total"]],
                     [[lb, *[s.values[i] for s in series], totals[i]] for i, (_a, lb) in enumerate(cats)],
                     col_keys=[None, *[s.key for s in series], None])

    if name == "grants-by-venue-type":
        per_aud: dict[str, int] = {}
        for _d, a, n in fig.grants():
            per_aud[a] = per_aud.get(a, 0) + n
        auds = sorted(per_aud, key=lambda a: (-per_aud[a], a))
        cats = [(a, vt.label(a, lang)) for a in auds]
        series = [Series("grants", tx["grants"], GRANT_COLOUR, [per_aud[a] for a in auds])]
        summary = (f"{title}, {period}: {tx['in_all'].format(n=_n(sum(per_aud.values())))}; "
                   + _top([(lb, per_aud[a]) for a, lb in cats], tx, 5))
        return Chart(name, title, "rows", cats, series, summary, tx["empty"], [tx["venue_type"], tx["grants"]],
                     [[lb, per_aud[a]] for a, lb in cats], col_keys=[None, "grants"])

    raise KeyError(name)


# ------------------------------------------------------------------------------------------ SVG

def _nice_max(v: int) -> int:
    """The top of the axis: four equal whole-number steps of a round size (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times
    a power of ten), the smallest that holds ``v``."""
    raw = max(1, -(-int(v) // 4))
    mag = 10 ** (len(str(raw)) - 1)
    steps = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if mag >= 10 else (1, 2, 3, 4, 5, 6, 8, 10)
    step = next(int(m * mag) for m in steps if raw <= m * mag)
    return 4 * step


def _text_width(s: str, size: int) -> float:
    """A wide estimate of a label's width: CJK characters are square, Latin ones about 0.6 of the size."""
    return sum(size if ord(c) > 0x2E80 else size * 0.6 for c in s)


def _doc(c: Chart, width: int, height: int, body: list[str]) -> str:
    desc = c.summary + ". " + "; ".join(
        f"{row[0]}: " + ", ".join(f"{h} {v}" for h, v in zip(c.table_head[1:], row[1:], strict=True))
        for row in c.table_rows)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" font-family="{escape(FONT)}" font-size="12" data-chart="{c.name}">'
            f"<title>{escape(c.title)}</title><desc>{escape(desc)}</desc>"
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>' + "".join(body) + "</svg>")


def _bar(x: float, y: float, w: float, h: float, s: Series, cat: tuple[str, str], v: int) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{s.colour}" stroke="#ffffff" '
            f'stroke-width="1" data-series="{escape(s.key)}" data-category="{escape(cat[0])}" data-value="{v}">'
            f"<title>{escape(cat[1])} · {escape(s.label)}: {v:,}</title></rect>")


def _columns_svg(c: Chart, width: int = 720, height: int = 270) -> str:
    bars = [s for s in c.series if s.mark == "bar"]
    lines = [s for s in c.series if s.mark == "line"]
    counts = [s for s in c.series if s.mark == "count"]
    n = max(1, len(c.categories))
    stacked = [sum(s.values[i] for s in bars) for i in range(n)] if c.categories else [0]
    top = _nice_max(max([*stacked, *[v for s in lines for v in s.values]] or [0]))
    left = max(40, int(_text_width(f"{top:,}", 12)) + 14)
    right, head, foot = 10, 14 + (26 if counts else 0), 30
    pw, ph = width - left - right, height - head - foot
    body: list[str] = []
    for i in range(5):
        v = top * i // 4
        y = head + ph - ph * i / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{v:,}</text>')
    slot = pw / n
    bw = max(2.0, slot * 0.72)
    axis = c.axis_labels or [lb for _k, lb in c.categories]
    # as many labels under the axis as fit side by side: every column's, every other one's, ...
    widest = max([_text_width(lb, 12) for lb in axis] or [0]) + 8
    every = max(1, -(-int(widest) // max(1, int(slot))))
    for i, cat in enumerate(c.categories):
        x0 = left + slot * i + (slot - bw) / 2
        y = head + ph
        for s in bars:
            v = s.values[i]
            if v <= 0:
                continue
            h = ph * v / top
            y -= h
            body.append(_bar(x0, y, bw, h, s, cat, v))
        if (n - 1 - i) % every == 0:  # counted from the newest column, which is always labelled
            label = axis[i]
            body.append(f'<text x="{left + slot * i + slot / 2:.1f}" y="{height - foot + 17}" text-anchor="middle" '
                        f'fill="{MUTED}">{escape(label)}</text>')
        for s in counts:
            v = s.values[i]
            if v > 0:  # the number over a diamond, in the series' colour, in the band above the plot
                cx = left + slot * i + slot / 2
                body.append(f'<g data-series="{escape(s.key)}" data-category="{escape(cat[0])}" data-value="{v}">'
                            f'<title>{escape(cat[1])} · {escape(s.label)}: {v}</title>'
                            f'<path d="M{cx - 5:.1f} 27l5 -5l5 5l-5 5z" fill="{s.colour}"/>'
                            f'<text x="{cx:.1f}" y="16" text-anchor="middle" fill="{s.colour}" '
                            f'font-weight="700">{v}</text></g>')
    for s in lines:
        pts = [(left + slot * i + slot / 2, head + ph - ph * v / top) for i, v in enumerate(s.values)]
        body.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}" fill="none" '
                    f'stroke="{s.colour}" stroke-width="2" data-series="{escape(s.key)}"/>')
        for (x, y), cat, v in zip(pts, c.categories, s.values, strict=True):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#ffffff" stroke="{s.colour}" '
                        f'stroke-width="2" data-series="{escape(s.key)}" data-category="{escape(cat[0])}" '
                        f'data-value="{v}"><title>{escape(cat[1])} · {escape(s.label)}: {v:,}</title></circle>')
    if c.empty:
        body.append(f'<text x="{width / 2}" y="{head + ph / 2}" text-anchor="middle" fill="{MUTED}" '
                    f'font-size="14">{escape(c.empty_text)}</text>')
    return _doc(c, width, height, body)


def _fit(label: str, room: float, size: int) -> str:
    """The label, shortened with an ellipsis to fit ``room`` pixels (the table below has it whole)."""
    if _text_width(label, size) <= room:
        return label
    while label and _text_width(label + "…", size) > room:
        label = label[:-1]
    return label + "…"


def _rows_svg(c: Chart, width: int = 440) -> str:
    row = 30
    room = min(200.0, width * 0.42)
    labels = [_fit(lb, room - 14, 13) for _k, lb in c.categories]
    left = int(min(room, max(60, max([_text_width(lb, 13) for lb in labels] or [0]) + 14)))
    totals = [sum(s.values[i] for s in c.series) for i in range(len(c.categories))]
    right = int(_text_width(f"{max(totals or [0]):,}", 13)) + 14
    height = max(60, 12 + row * len(c.categories))
    top = max(totals or [0]) or 1
    body: list[str] = []
    for i, cat in enumerate(c.categories):
        y = 6 + row * i
        body.append(f'<text x="{left - 8}" y="{y + 19}" text-anchor="end" fill="{INK}" font-size="13">'
                    f"{escape(labels[i])}</text>")
        x = float(left)
        for s in c.series:
            v = s.values[i]
            if v <= 0:
                continue
            w = max(1.5, (width - left - right) * v / top)
            body.append(_bar(x, y + 4, w, row - 8, s, cat, v))
            x += w
        body.append(f'<text x="{x + 6:.1f}" y="{y + 19}" fill="{INK}" font-size="13">{totals[i]:,}</text>')
    if not c.categories:
        body.append(f'<text x="{width / 2}" y="34" text-anchor="middle" fill="{MUTED}" font-size="14">'
                    f"{escape(c.empty_text)}</text>")
    return _doc(c, width, height, body)
