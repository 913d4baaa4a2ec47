"""Server-rendered SVG charts for the console (no JavaScript library, nothing from a CDN).

Each function returns a complete, self-contained SVG document with a <title> and <desc> (read out by
screen readers when the chart is an <img> with alt text). Colours keep a 3:1 contrast against white and
are told apart by pattern order and legend too, not only by hue.
"""
from __future__ import annotations

from html import escape

PALETTE = ["#1f5fbf", "#1e8a4c", "#c2410c", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4b5563"]
FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"


def _nice_max(v: int) -> int:
    """The top of the axis: four equal whole-number steps of 1, 2 or 5 times a power of ten."""
    raw = max(1, -(-int(v) // 4))
    mag = 10 ** (len(str(raw)) - 1)
    step = next(int(m * mag) for m in ((1, 2, 2.5, 5, 10) if mag >= 10 else (1, 2, 5, 10)) if raw <= m * mag)
    return 4 * step


def _doc(width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" font-family="{escape(FONT)}" font-size="12">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>' + "".join(body) + "</svg>")


def stacked_bars(labels: list[str], series: dict[str, list[int]], *, title: str, empty: str = "No data",
                 width: int = 720, height: int = 260) -> str:
    """Columns per label (a day), each stacked from the series in order; a legend above."""
    names = list(series)
    totals = [sum(series[n][i] for n in names) for i in range(len(labels))]
    top = _nice_max(max(totals or [0]))
    left, right, head, foot = 44, 10, 40, 34
    pw, ph = width - left - right, height - head - foot
    body: list[str] = []
    # legend
    x = left
    for k, name in enumerate(names):
        body.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{PALETTE[k % len(PALETTE)]}"/>'
                    f'<text x="{x + 16}" y="20" fill="#1f2937">{escape(name)}</text>')
        x += 24 + 7 * len(name) + 10
    # grid
    for i in range(5):
        v = top * i // 4
        y = head + ph - ph * i / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">{v}</text>')
    n = max(1, len(labels))
    slot = pw / n
    bw = max(2.0, slot * 0.7)
    for i, lab in enumerate(labels):
        x0 = left + slot * i + (slot - bw) / 2
        y = head + ph
        for k, name in enumerate(names):
            v = series[name][i]
            if v <= 0:
                continue
            h = ph * v / top
            y -= h
            body.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                        f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(lab)} {escape(name)}: {v}</title></rect>')
        if n <= 16 or i % max(1, n // 8) == 0:
            body.append(f'<text x="{left + slot * i + slot / 2:.1f}" y="{height - foot + 16}" text-anchor="middle" '
                        f'fill="#4b5563">{escape(lab[5:] if len(lab) == 10 else lab)}</text>')
    if not any(totals):
        body.append(f'<text x="{width / 2}" y="{head + ph / 2}" text-anchor="middle" fill="#4b5563" '
                    f'font-size="14">{escape(empty)}</text>')
    desc = "; ".join(f"{lab}: " + ", ".join(f"{nm} {series[nm][i]}" for nm in names) for i, lab in enumerate(labels))
    return _doc(width, height, title, desc, body)


def hbars(items: list[tuple[str, int]], *, title: str, empty: str = "No data", width: int = 400) -> str:
    """One horizontal bar per item, largest first as given."""
    row, left, right = 30, 150, 50
    height = max(60, 16 + row * len(items))
    top = max([v for _, v in items] or [0]) or 1
    body: list[str] = []
    for i, (label, v) in enumerate(items):
        y = 8 + row * i
        w = (width - left - right) * v / top
        body.append(f'<text x="{left - 8}" y="{y + 19}" text-anchor="end" fill="#1f2937" font-size="14">'
                    f'{escape(label[:20])}</text>'
                    f'<rect x="{left}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row - 8}" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"/>'
                    f'<text x="{left + w + 6:.1f}" y="{y + 19}" fill="#1f2937" font-size="14">{v}</text>')
    if not items:
        body.append(f'<text x="{width / 2}" y="34" text-anchor="middle" fill="#4b5563" font-size="14">'
                    f'{escape(empty)}</text>')
    desc = "; ".join(f"{label}: {v}" for label, v in items) or empty
    return _doc(width, height, title, desc, body)
