"""The kiosk program's settings (kiosk/settings.py): read once from the environment at start, checked there, a bad
value stops the program with one line naming it; no other kiosk module reads the environment."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.settings import KioskSettings, SettingsError

REPO = Path(__file__).resolve().parents[2]


def test_defaults_and_values(tmp_path):
    home = str(tmp_path)
    plain = KioskSettings.from_environ({"XDG_DATA_HOME": home})
    assert plain.home == tmp_path / "perkpass-kiosk" and plain.source == "camera:0"
    assert (plain.sync_interval, plain.sync_batch, plain.mute, plain.font) == (10.0, 500, False, None)
    font = tmp_path / "f.ttf"
    font.write_bytes(b"x")
    s = KioskSettings.from_environ({"PERKPASS_KIOSK_HOME": home, "PERKPASS_KIOSK_SYNC_INTERVAL": "2.5",
                                    "PERKPASS_KIOSK_SYNC_BATCH": "10", "PERKPASS_KIOSK_MUTE": "1",
                                    "PERKPASS_KIOSK_FONT": str(font), "PERKPASS_KIOSK_IMAGES": home,
                                    "PERKPASS_KIOSK_SOURCE": "none"})
    assert (s.home, s.sync_interval, s.sync_batch, s.mute, s.font, s.images_dir, s.source) == (
        tmp_path, 2.5, 10, True, str(font), home, "none")


@pytest.mark.parametrize("env, named", [
    ({"PERKPASS_KIOSK_SYNC_BATCH": "lots"}, "PERKPASS_KIOSK_SYNC_BATCH"),
    ({"PERKPASS_KIOSK_SYNC_BATCH": "501"}, "PERKPASS_KIOSK_SYNC_BATCH"),
    ({"PERKPASS_KIOSK_SYNC_BATCH": "0"}, "PERKPASS_KIOSK_SYNC_BATCH"),
    ({"PERKPASS_KIOSK_SYNC_INTERVAL": "0"}, "PERKPASS_KIOSK_SYNC_INTERVAL"),
    ({"PERKPASS_KIOSK_SYNC_INTERVAL": "nan"}, "PERKPASS_KIOSK_SYNC_INTERVAL"),
    ({"PERKPASS_KIOSK_FONT": "/no/such/font.ttf"}, "PERKPASS_KIOSK_FONT"),
])
def test_a_bad_value_is_refused_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        KioskSettings.from_environ(env)


def test_the_program_stops_with_one_line_before_opening_anything(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PERKPASS_KIOSK_SYNC_BATCH": "lots",
           "PERKPASS_KIOSK_HOME": str(tmp_path / "data")}
    r = subprocess.run([sys.executable, "-m", "kiosk", "--size", "800x480"], cwd=str(REPO), env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "perkpass-kiosk: PERKPASS_KIOSK_SYNC_BATCH='lots': not an integer"]
    assert not (tmp_path / "data").exists()


def test_no_other_kiosk_module_reads_the_environment():
    readers = sorted(str(p.relative_to(REPO)) for p in (REPO / "kiosk").rglob("*.py")
                     if "os.environ.get" in p.read_text() or "os.getenv" in p.read_text())
    assert readers == []
    # __main__ only sets Kivy's own variables before Kivy starts, and hands os.environ to the settings once
    main = (REPO / "kiosk" / "__main__.py").read_text()
    assert main.count("KioskSettings.from_environ(os.environ)") == 1
