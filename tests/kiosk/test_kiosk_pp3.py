"""The kiosk and PP3 codes (issue 23): a kiosk whose trust list carries the issuer's BBS key grants a PP3
code through the SDK, refuses the same code scanned again and a second code of the same holder in the same
quota window, and grants another holder. What it logs for upload holds no certificate id (there is none)."""
from __future__ import annotations

from kiosk.core import KioskCore
from kiosk_harness import make_enrolment
from partner_sdk import pp3, upload

T0 = 1_796_000_000
PERKS = ["MOLI-METRO20"]


def test_kiosk_grants_pp3_and_enforces_the_quota(tmp_path, issuer):
    clock = [float(T0)]
    enrol = make_enrolment(tmp_path / "e.json", issuer, T0 - 60, audience="metro",
                           trust_kwargs={"bbs_keys": issuer.bbs_keys()},
                           perks=[{"code": p, "title": {"en": p, "zh-CN": p}} for p in PERKS])
    core = KioskCore(tmp_path / "d", sync_interval=3600, clock=lambda: clock[0])
    core.enrol_from_file(enrol, pin="2468")

    def holder():
        cert, secret = issuer.pp3_certificate("metro", PERKS, T0 // 86_400)
        return lambda at: pp3.present(cert, secret, issuer.bbs_public_key, issuer.issuer, at, 130)

    alice, bob = holder(), holder()
    start = (T0 // 390 + 1) * 390  # a quota window that starts on a slot boundary
    clock[0] = start + 1
    first = alice(start)
    assert core.process(first, "hid").status == "GRANTED"
    assert core.process(first, "hid").status == "REPLAYED"
    clock[0] = start + 40
    assert core.process(alice(start + 40), "hid").status == "REPLAYED", "same holder, same window: quota"
    assert core.process(bob(start + 40), "hid").status == "GRANTED"
    clock[0] = start + 160
    assert core.process(alice(start + 160), "hid").status == "GRANTED", "next window"
    # three grants logged, each a per-code id (a hash of that code's proof) and no pseudonym: the quota
    # pseudonym stays on the gate, nothing repeats across the records
    logged = core.store.pending(100)
    assert len(logged) == 3 and len({r.jti for r in logged}) == 3
    assert all(upload.PP3_JTI_RE.match(r.jti) and r.pseudonym == upload.PP3_PSEUDONYM for r in logged)
