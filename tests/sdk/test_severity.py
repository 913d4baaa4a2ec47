"""One severity per status, one colour per severity (issue 22 item 11): the kiosk's answer screen and the
console's charts and tables read the same table (partner_sdk.messages), and its colours are usable: each at
least 3:1 against white (WCAG 1.4.11 non-text contrast) and every pair apart for normal vision and the three
simulated colour-vision deficiencies."""
from __future__ import annotations

import itertools
import math

from kiosk.colours import _linear, contrast_ratio
from partner_sdk import Status
from partner_sdk.messages import CATALOGUE, SEVERITIES, Severity, answer_screen, severity

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB
CVD = {
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255


def _simulate(rgb, matrix):
    lin = [_linear(c) for c in rgb]
    out = []
    for row in matrix:
        v = min(1.0, max(0.0, sum(m * c for m, c in zip(row, lin, strict=True))))
        out.append(12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055)
    return tuple(out)


def _lab(rgb):
    r, g, b = (_linear(c) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_every_status_has_one_severity_and_the_kiosk_screen_follows_from_it():
    from kiosk import i18n
    assert set(CATALOGUE) == set(Status) and set(SEVERITIES) == set(Severity)
    for status, entry in CATALOGUE.items():
        assert severity(status) is entry.severity is severity(status.value)
        assert i18n.result_kind(status.value) == answer_screen(status) == SEVERITIES[entry.severity].screen
    assert [s for s in Status if severity(s) is Severity.GRANTED] == [Status.GRANTED]
    # the kiosk's three answers are unchanged where staff act on them
    assert i18n.result_kind("REPLAYED") == "attention" and i18n.result_kind("BAD_SIGNATURE") == "refused"
    assert i18n.result_kind("EXPIRED") == "refused" and i18n.result_kind("TRUST_LIST_EXPIRED") == "attention"
    # a status no verifier of this version knows is never read as a grant
    assert severity("SOMETHING_NEW") is Severity.FOREIGN and i18n.result_kind("SOMETHING_NEW") == "refused"


def test_severities_are_what_the_texts_say():
    fraud = {s for s in Status if severity(s) is Severity.FORGED}
    assert fraud == {Status.BAD_SIGNATURE, Status.WRONG_ISSUER, Status.REVOKED}
    assert severity(Status.REPLAYED) is Severity.REUSED
    # "check this device's clock" / "update the trust list": the device, not the citizen
    assert {severity(Status.NOT_YET_VALID), severity(Status.UNKNOWN_KEY),
            severity(Status.TRUST_LIST_EXPIRED)} == {Severity.SETUP}
    assert {severity(Status.EXPIRED), severity(Status.WRONG_AUDIENCE),
            severity(Status.NOT_ENTITLED)} == {Severity.CITIZEN}
    assert severity(Status.MALFORMED) is Severity.FOREIGN
    for info in SEVERITIES.values():
        assert info.label.en and info.label.zh and info.label.en != info.label.zh


def test_each_colour_has_3_to_1_contrast_on_white_and_every_pair_stays_apart_under_colour_blindness():
    colours = {s: _rgb(info.colour) for s, info in SEVERITIES.items()}
    assert len(set(colours.values())) == len(colours)
    for s, rgb in colours.items():
        assert contrast_ratio(rgb, (1, 1, 1)) >= 3.0, s
    for vision, matrix in [("normal", None), *CVD.items()]:
        for (a, ra), (b, rb) in itertools.combinations(colours.items(), 2):
            seen_a = ra if matrix is None else _simulate(ra, matrix)
            seen_b = rb if matrix is None else _simulate(rb, matrix)
            assert math.dist(_lab(seen_a), _lab(seen_b)) >= 24, (vision, a, b)
