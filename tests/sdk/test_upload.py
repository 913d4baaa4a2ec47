"""partner_sdk.upload: the kiosk redemption upload's one definition, shared by the kiosk and the backend."""
from __future__ import annotations

import subprocess
import sys
import uuid

from partner_sdk import upload
from partner_sdk.upload import Outcome, Reason

ITEM = {"id": "0f8fad5b-d9cb-469f-a165-70867728950e", "jti": "abcdEFGH1234_-xy",
        "pseudonym": "ABCDEFGHIJKLMNOPQRSTUVA", "perk": "MOLI-METRO20", "scanned_at": 1_796_000_000}


def test_importing_it_pulls_in_neither_flask_nor_kivy():
    """Both sides import it: a kiosk must not need the server's framework, nor the server the kiosk's."""
    code = ("import sys, partner_sdk.upload; "
            "print(sorted(m for m in ('flask', 'kivy', 'marshmallow', 'sqlalchemy', 'backend', 'kiosk') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_wire_values_are_the_ones_kiosks_in_the_field_send_and_read():
    assert upload.PATH == "/api/v1/kiosk/redemptions"
    assert [o.value for o in Outcome] == ["accepted", "duplicate", "rejected"]
    assert upload.MAX_ITEMS == 500 and dict(upload.MAX_LENGTHS) == {"id": 36, "jti": 64, "pseudonym": 64, "perk": 32}
    assert {r.value for r in Reason} == {
        "malformed_jti", "malformed_pseudonym", "unknown_perk", "wrong_audience", "perk_not_offered",
        "perk_not_certified", "unknown_certificate", "outside_certificate_validity", "scanned_in_future",
        "scanned_before_possible", "scan_time_mismatch"}
    assert all(r.text for r in Reason)


def test_plain_batch_takes_exactly_the_five_fields_within_their_limits():
    assert upload.plain_batch({"redemptions": [ITEM]}) == [ITEM]
    assert upload.plain_batch({"redemptions": [dict(ITEM, id=str(uuid.uuid4())) for _ in range(500)]}) is not None
    for bad in ({"redemptions": [ITEM] * 501}, {"redemptions": []}, {"redemptions": [ITEM], "x": 1}, [ITEM], None,
                {"redemptions": [dict(ITEM, extra=1)]}, {"redemptions": [dict(ITEM, perk="P" * 33)]},
                {"redemptions": [dict(ITEM, jti="a\x00b")]}, {"redemptions": [dict(ITEM, scanned_at=1.5)]},
                {"redemptions": [dict(ITEM, id="not-a-uuid")]}, {"redemptions": [dict(ITEM, pseudonym="")]}):
        assert upload.plain_batch(bad) is None, bad


def test_certificate_named_reads_pp2_jtis_only():
    assert upload.certificate_named("A" * 16 + "-59866666") == "A" * 16
    assert upload.certificate_named("abcdEFGH1234_-xy") is None       # a PP1 jti
    assert upload.certificate_named("A" * 16 + "-007") is None        # not a slot's decimal form
    assert upload.certificate_named("A" * 15 + "-1") is None


def test_acknowledged_is_what_a_kiosk_may_mark_done():
    """Only ids that were sent, with an outcome the kiosk knows; a reason it does not know is kept as written
    (a newer backend); anything malformed is ignored, so that item is simply sent again."""
    sent = ["a", "b", "c", "d"]
    answer = {"results": [
        {"id": "a", "status": "accepted"},
        {"id": "b", "status": "rejected", "reason": "some_future_reason"},
        {"id": "c", "status": "maybe"},
        {"id": "zz", "status": "duplicate"},
        "garbage",
        {"id": "d", "status": "duplicate", "reason": 7},
    ]}
    assert upload.acknowledged(answer, sent) == [
        ("a", Outcome.ACCEPTED, None), ("b", Outcome.REJECTED, "some_future_reason"), ("d", Outcome.DUPLICATE, None)]
    assert upload.acknowledged({"results": "nope"}, sent) == []
    assert upload.acknowledged({}, sent) == []

