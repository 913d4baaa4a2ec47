"""Issue 10 items 7 and 9 through the real kiosk app (a real Kivy window, offscreen) at 1280x800: a poster QR
beside the phone in the same camera frame, foreign symbols while a result is on screen, a long venue name,
and the result colours in English and Chinese (screenshots)."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from kiosk.colours import RESULT_BG
from kiosk_harness import camera_kiosk, colour_close
from test_kiosk_scanning import desk, qr_gray, tilted_away, two_codes_frame

pytestmark = pytest.mark.kivy

WIFI = "WIFI:S:library-guest;T:WPA;P:reading-room;;"   # a foreign symbol the camera has not seen yet
LONG_VENUE = "Xiamen Municipal Library · Gulou District Branch · Children's Reading Room, 2nd floor lending desk"
LONG_VENUE_ZH = "厦门市图书馆鼓楼区分馆 · 少年儿童阅览室二楼借还服务台（自助借还与押金退还窗口）"


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory, issuer):
    with camera_kiosk(tmp_path_factory.mktemp("kiosk-camera-ui"), issuer, venue_name=LONG_VENUE, size="1280x800",
                      name="kiosk-1280") as k:
        yield k


def show_to_camera(kiosk, name: str, frame: np.ndarray) -> None:
    tmp = kiosk.camera_dir / (name + ".tmp.png")
    cv2.imwrite(str(tmp), frame)
    tmp.rename(kiosk.camera_dir / name)          # appears whole, as a camera frame would


def wait_back_to_scan(kiosk) -> None:
    kiosk.call("goto", screen="scan")
    kiosk.wait_for(lambda s: s["screen"] == "scan", 5, "scan screen")


def test_long_venue_name_wraps_or_shrinks_and_is_never_cut_off(kiosk):
    info = kiosk.call("screen_info", screen="scan")["venue"]
    assert info["text"] == LONG_VENUE
    assert info["fits"] and 1 <= info["lines"] <= 2, info
    assert info["texture_width"] <= info["width"] + 1
    kiosk.screenshot("kiosk-scan-long-venue-1280x800.png")


def test_poster_qr_beside_the_phone_gives_one_decision_the_grant(kiosk, issuer):
    code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time(), citizen="poster-1").qr_text
    before = kiosk.results_count()
    show_to_camera(kiosk, "poster-and-phone.png", two_codes_frame(code))
    r = kiosk.wait_result(before)
    assert r["status"] == "GRANTED" and r["source"] == "camera"
    time.sleep(2.0)                      # both codes stay in view: no red "Not a Perkpass code" follows
    st = kiosk.state()
    assert st["shown"] == before + 1, st["results"][-3:]
    assert st["result"]["status"] == "GRANTED"
    assert st["stats"]["refusals"].get("MALFORMED", 0) == 0
    assert st["camera"]["codes"] == 1
    assert colour_close(st["result"]["background"], RESULT_BG["granted"])
    kiosk.wait_for(lambda s: s["screen"] == "scan", 6, "back to scan")
    time.sleep(1.0)                      # the poster is still in view after the result: still nothing
    assert kiosk.state()["shown"] == before + 1


def test_foreign_symbol_while_a_result_is_on_screen_is_ignored(kiosk, issuer):
    wait_back_to_scan(kiosk)
    time.sleep(6.5)                      # the previous frame has left the camera's view
    code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time(), citizen="poster-2").qr_text
    r = kiosk.scan_hid(code)             # granted with the hand scanner...
    assert r["status"] == "GRANTED"
    shown = kiosk.state()["shown"]
    poster = np.full((480, 640, 3), 205, np.uint8)
    q = qr_gray(WIFI, 4)
    poster[60:60 + q.shape[0], 60:60 + q.shape[1]] = q[:, :, None]
    frames = kiosk.state()["camera"]["frames"]
    show_to_camera(kiosk, "poster-alone.png", poster)    # ...while a poster comes into the camera's view
    # The camera may report the poster or, if it already counts as part of the scene (answered in an earlier
    # test less than a minute ago: issue 22 item 8), not report it at all: either way it looks at it.
    kiosk.wait_for(lambda s: s["camera"]["frames"] >= frames + 30, 10, "the camera to look at the poster")
    time.sleep(0.5)
    st = kiosk.state()
    assert st["shown"] == shown and st["result"]["status"] == "GRANTED"


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_result_colours_screenshots(kiosk, issuer, lang):
    suffix = "" if lang == "en" else "-zh"
    kiosk.call("set_lang", lang=lang)
    try:
        wait_back_to_scan(kiosk)
        code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time(), citizen=f"shot-{lang}").qr_text
        r = kiosk.scan_hid(code)
        assert colour_close(r["background"], RESULT_BG["granted"])
        kiosk.screenshot(f"kiosk-colours-granted{suffix}.png", settle=0.3)
        r = kiosk.scan_hid(code)
        assert r["status"] == "REPLAYED" and colour_close(r["background"], RESULT_BG["attention"])
        kiosk.screenshot(f"kiosk-colours-used{suffix}.png", settle=0.3)
        old = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time() - 600).qr_text
        r = kiosk.scan_hid(old)
        assert r["status"] == "EXPIRED" and colour_close(r["background"], RESULT_BG["refused"])
        kiosk.screenshot(f"kiosk-colours-refused{suffix}.png", settle=0.3)
    finally:
        kiosk.call("set_lang", lang="en")


def test_phone_beside_a_far_poster_stays_in_view_after_the_result_and_no_red_follows(kiosk, issuer):
    """Issue 22 item 8 through the real app: the phone stays in front of the camera beside a far poster (read
    only by the decoder's third pass) for longer than the result time, then tilts so that only the poster reads.
    Staff see the grant and then the scan screen, never "Not a Perkpass code"."""
    wait_back_to_scan(kiosk)
    time.sleep(6.5)                      # the previous frame has left the camera's view
    code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=time.time(), citizen="far-poster").qr_text
    both = desk(code=code, poster_far=True)
    before = kiosk.results_count()
    malformed = kiosk.state()["stats"]["refusals"].get("MALFORMED", 0)
    show_to_camera(kiosk, "far-poster-1-phone.png", both)               # in view for 6 s
    show_to_camera(kiosk, "far-poster-2-tilted.png", tilted_away(both))  # then 6 s tilted
    assert kiosk.wait_result(before)["status"] == "GRANTED"
    kiosk.wait_for(lambda s: s["screen"] == "scan", 6, "back to scan after the result time")
    time.sleep(9.0)                      # the phone tilts; the poster alone reads for 6 s
    st = kiosk.state()
    assert st["shown"] == before + 1, st["results"][-3:]
    assert st["stats"]["refusals"].get("MALFORMED", 0) == malformed
    assert st["screen"] == "scan"
