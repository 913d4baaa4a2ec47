"""Kiosk screens built alone (issue 20, 'one shape for each concept'): each screen gets what it needs when it is
built, so one screen runs in a real Kivy window without KioskApp (tests/kiosk/screen_alone.py), with a real
store or core, and is driven by real touches."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from kiosk_harness import REPO, kivy_env, make_enrolment

from kiosk import i18n


def _run(scenario: str, data_dir: Path) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("screen_alone.py")), scenario, str(data_dir)],
                          cwd=str(REPO), env=kivy_env(), capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert "error" not in out, out["error"]
    return out


def test_the_pin_screen_alone_checks_and_changes_the_pin_in_its_store(tmp_path):
    out = _run("pin", tmp_path)
    assert out["title"] == i18n.tr("pin.title.settings", "en")
    assert out["dots_after_four"] == "● ● ● ●"
    assert out["after_wrong"] == {"message": i18n.tr("pin.wrong", "en"), "accepted": []}
    assert out["after_right"]["accepted"] == ["settings"]
    # a new PIN typed twice is stored, staff are told so and taken back to the settings
    assert out["changed"] == {"new_pin_works": True,
                              "nav": [["notice", i18n.tr("settings.pin_changed", "en")], ["go", "settings"]]}
    assert out["title_zh"] == i18n.tr("pin.title.exit", "zh-CN")  # the title follows the language
    assert out["nav"][-1] == ["go_scan"]                      # Back leaves the screen


def test_the_stats_screen_alone_counts_todays_scans_of_a_real_core(tmp_path, issuer):
    from kiosk.core import KioskCore
    now = time.time()
    core = KioskCore(tmp_path / "d", sync_interval=3600)
    core.enrol_from_file(make_enrolment(tmp_path / "e.json", issuer, now), pin="2468")
    for _ in range(2):
        code = issuer.credential("library", ["BAILU-LIB-DEPOSIT"], now=now).qr_text
        assert core.process(code, "hid").status == "GRANTED"
    assert core.process("PP1 not a code", "hid").status == "MALFORMED"
    core.close()
    out = _run("stats", tmp_path / "d")
    assert (out["grant_total"], out["refusal_total"]) == (2, 1)
    assert out["grants"] == "   2   BAILU-LIB-DEPOSIT"
    assert out["refusals"] == f"   1   {i18n.tr('status.short.MALFORMED', 'en')}"
    assert out["title"].startswith(i18n.tr("stats.title", "en") + " · ")
    assert out["title_zh"].startswith(i18n.tr("stats.title", "zh-CN") + " · ")
    assert out["nav"] == [["go", "settings"]]


def test_no_kiosk_module_reaches_for_the_app_singleton():
    """Screens get their collaborators when built (KioskApp.build); the .kv rules read only the look through
    Kivy's ``app`` (u, tr, lang), never the kiosk's state or navigation."""
    import re
    kiosk = REPO / "kiosk"
    assert [str(p) for p in kiosk.rglob("*.py") if "get_running_app" in p.read_text()] == []
    look_only = re.compile(r"\bapp\.(?!u\b|tr\(|lang\b)\w+")
    kv_rules = [(p.name, m.group(0)) for p in (kiosk / "screens").glob("*.kv") if p.name not in ("root.kv", "widgets.kv")
                for m in look_only.finditer(p.read_text())]
    assert kv_rules == []
