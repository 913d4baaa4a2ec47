"""The result colours, and the arithmetic that chose them (no Kivy: tests and docs import this).

Staff read the result from across a desk, some of them colour-blind (about 1 man in 16 has a red-green
deficiency). So the three results differ in *lightness*, not only in hue: granted is a light green, refused a
dark red, the "check this" state a pale amber. Under deuteranopia (simulated with Machado et al. 2009, full
severity) granted and refused stay far apart in luminance, and every text reaches WCAG AA (4.5:1) on its
background. Icons and words stay as the first signal; colour is the second.
"""
from __future__ import annotations

RGBA = tuple[float, float, float, float]

RESULT_BG: dict[str, RGBA] = {
    "granted": (0.30, 0.78, 0.42, 1),     # light green, dark text
    "refused": (0.62, 0.06, 0.09, 1),     # dark red, white text
    "attention": (1.00, 0.84, 0.36, 1),   # pale amber, dark text
}
DARK_TEXT: RGBA = (0.06, 0.07, 0.05, 1)
RESULT_TEXT: dict[str, RGBA] = {"granted": DARK_TEXT, "refused": (1, 1, 1, 1), "attention": DARK_TEXT}

# Status-bar pills follow the same rule: "ok" light with dark text, "bad" dark with white text (the old
# green and red pills were 1.04:1 apart under deuteranopia).
PILL_BG: dict[str, RGBA] = {"ok": RESULT_BG["granted"], "warn": (0.95, 0.68, 0.10, 1), "bad": RESULT_BG["refused"],
                            "info": (0.24, 0.28, 0.36, 1)}
PILL_TEXT: dict[str, RGBA] = {"ok": DARK_TEXT, "warn": (0.10, 0.08, 0.02, 1), "bad": (1, 1, 1, 1), "info": (1, 1, 1, 1)}
# the selected choice in settings (white text, AA): also shown in bold, not by colour alone
CHOICE_SELECTED: RGBA = (0.08, 0.45, 0.22, 1)

# linear-RGB matrix for deuteranopia (Machado, Oliveira & Fernandes 2009, severity 1.0)
_DEUTERANOPIA = ((0.367322, 0.860646, -0.227968),
                 (0.280085, 0.672501, 0.047413),
                 (-0.011820, 0.042940, 0.968881))


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(rgb) -> float:
    """WCAG 2.x relative luminance of an sRGB colour given as 0..1 floats."""
    r, g, b = (_linear(float(c)) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a, b) -> float:
    """WCAG contrast ratio (1..21) between two sRGB colours."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def deuteranopia(rgb) -> tuple[float, float, float]:
    """How a deuteranope sees an sRGB colour (sRGB out, 0..1)."""
    lin = [_linear(float(c)) for c in rgb[:3]]
    out = []
    for row in _DEUTERANOPIA:
        v = min(1.0, max(0.0, sum(m * c for m, c in zip(row, lin, strict=True))))
        out.append(12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055)
    return out[0], out[1], out[2]


def report() -> dict[str, float]:
    """The figures docs/kiosk.md quotes (and the tests check)."""
    bg = RESULT_BG
    out = {f"text on {k}": contrast_ratio(RESULT_TEXT[k], bg[k]) for k in bg}
    out.update({f"text on {k} (deuteranopia)": contrast_ratio(deuteranopia(RESULT_TEXT[k]), deuteranopia(bg[k]))
                for k in bg})
    for a, b in (("granted", "refused"), ("attention", "refused"), ("attention", "granted")):
        out[f"{a} vs {b}"] = contrast_ratio(bg[a], bg[b])
        out[f"{a} vs {b} (deuteranopia)"] = contrast_ratio(deuteranopia(bg[a]), deuteranopia(bg[b]))
    return out


if __name__ == "__main__":
    for name, value in report().items():
        print(f"{name:40s} {value:5.2f}:1")
