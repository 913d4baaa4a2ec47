"""Issue 10 item 9: result states readable by colour-blind staff (computed ratios), a refusal sound that small
speakers actually play. The real-window checks (venue name at 1280x800, screenshots) are in
test_kiosk_camera_ui.py."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from kiosk.colours import RESULT_BG, RESULT_TEXT, contrast_ratio, deuteranopia, relative_luminance

SOUNDS = Path(__file__).resolve().parents[2] / "kiosk" / "sounds"


def test_contrast_helpers_match_wcag_reference_values():
    assert contrast_ratio((0, 0, 0), (1, 1, 1)) == pytest.approx(21.0)
    assert contrast_ratio((1, 1, 1), (1, 1, 1)) == pytest.approx(1.0)
    assert relative_luminance((0.5, 0.5, 0.5)) == pytest.approx(0.214, abs=0.001)
    # a deuteranope sees grey as grey, and red and green as near-equal yellows/browns
    assert deuteranopia((0.5, 0.5, 0.5)) == pytest.approx((0.5, 0.5, 0.5), abs=0.01)


@pytest.mark.parametrize("kind", sorted(RESULT_BG))
def test_result_text_reaches_wcag_aa_for_everyone(kind):
    bg, fg = RESULT_BG[kind], RESULT_TEXT[kind]
    assert contrast_ratio(fg, bg) >= 4.5
    assert contrast_ratio(deuteranopia(fg), deuteranopia(bg)) >= 4.5


def test_granted_and_refused_differ_in_lightness_under_deuteranopia():
    # the old green/red pair measured 1.06:1 here: the same grey for a deuteranope
    g, r, a = (deuteranopia(RESULT_BG[k]) for k in ("granted", "refused", "attention"))
    assert contrast_ratio(g, r) >= 3.0      # WCAG's 3:1 for large shapes
    assert contrast_ratio(a, r) >= 3.0
    assert relative_luminance(g) > relative_luminance(r) and relative_luminance(a) > relative_luminance(r)


def _read(name: str) -> tuple[np.ndarray, int]:
    with wave.open(str(SOUNDS / name)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768.0
    return data, rate


def _band_share(data: np.ndarray, rate: int, lo: float, hi: float) -> float:
    power = np.abs(np.fft.rfft(data)) ** 2
    freqs = np.fft.rfftfreq(len(data), 1.0 / rate)
    return float(power[(freqs >= lo) & (freqs <= hi)].sum() / power.sum())


def test_refusal_sound_is_in_the_band_small_speakers_play_and_loud():
    data, rate = _read("refused.wav")
    # a 25-40 mm speaker plays little below ~400 Hz: nearly all the sound must sit above it
    assert _band_share(data, rate, 500, 4000) >= 0.9
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(data ** 2)))
    assert rms_dbfs >= -12.0
    assert len(data) / rate >= 0.5                   # long enough to notice at a noisy gate
    granted, grate = _read("granted.wav")
    assert np.sqrt(np.mean(data ** 2)) > np.sqrt(np.mean(granted ** 2))    # the louder of the two


def test_committed_sounds_are_what_the_generator_makes(tmp_path):
    from kiosk.sounds import generate
    for path in generate.main(tmp_path):
        assert path.read_bytes() == (SOUNDS / path.name).read_bytes(), path.name


def test_status_pills_and_choices_are_readable_too():
    from kiosk.colours import CHOICE_SELECTED, PILL_BG, PILL_TEXT
    for level in PILL_BG:
        assert contrast_ratio(PILL_TEXT[level], PILL_BG[level]) >= 4.5, level
        assert contrast_ratio(deuteranopia(PILL_TEXT[level]), deuteranopia(PILL_BG[level])) >= 4.5, level
    # "Trust list fresh" and "Trust list EXPIRED" pills: the old pair was 1.04:1 apart for a deuteranope
    assert contrast_ratio(deuteranopia(PILL_BG["ok"]), deuteranopia(PILL_BG["bad"])) >= 3.0
    assert contrast_ratio((1, 1, 1), CHOICE_SELECTED) >= 4.5
