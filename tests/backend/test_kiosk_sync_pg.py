"""The kiosk upload's PostgreSQL storage (issue 14 item 2): one statement on the autocommit connection instead of
the session's transaction. It must answer and store every item exactly as the session storage does
(``redemptions.SessionStorage``, which SQLite uses) and keep exactly-once storage when a retry races its own first
attempt."""
from __future__ import annotations

import random
import threading
import time
import uuid

import pytest

from tools.cluster import pp1_redemption

PERK = "MOLI-METRO20"


@pytest.fixture
def pg(app):
    from backend.extensions import db
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the one-statement upload is PostgreSQL's")
    return db


def _device(h, venue_id):
    from backend.extensions import db
    from backend.models import Device
    dev = h.enrol(venue_id)
    return dev, db.session.query(Device).filter_by(public_id=dev["device_id"]).one()


def _stored(db, device_id):
    from backend.models import Redemption, RedemptionRejection
    rows = {(r.client_id, r.jti, r.pseudonym, r.perk, r.scanned_at, r.audience, r.venue_id)
            for r in db.session.query(Redemption).filter_by(device_id=device_id)}
    refused = {(r.client_id, r.reason) for r in db.session.query(RedemptionRejection).filter_by(device_id=device_id)}
    return rows, refused


def test_one_statement_answers_as_the_general_path(h, app, pg):
    """Random batches (new, re-sent, refused before, implausible, the same id twice in a batch), each sent by
    two kiosks of one venue: one through the PostgreSQL storage, one through the session storage. Every answer,
    every count and every stored row agree."""
    from backend.services import redemptions
    vid = h.venue("Gate", "metro", [PERK])
    _, fast = _device(h, vid)
    _, general = _device(h, vid)
    rnd = random.Random(1404)
    now = int(time.time())
    sent: list[dict] = []

    def item() -> dict:
        roll = rnd.random()
        if sent and roll < 0.25:
            return rnd.choice(sent)  # re-sent: stored or refused before, or earlier in this batch
        it = pp1_redemption(PERK, now - rnd.randrange(600))
        if roll < 0.33:
            it["perk"] = rnd.choice(["OSM-LIB-LONGLOAN", "NO-SUCH-PERK"])  # another venue type's, unknown
        elif roll < 0.38:
            it["jti"] = "short"
        elif roll < 0.42:
            it["scanned_at"] = now + 7200
        elif roll < 0.46:
            it["jti"], it["pseudonym"] = "A" * 16 + "-55", "B" * 16  # PP2-shaped, no such certificate
        sent.append(it)
        return it

    kinds = set()
    for size in [1, 3, 10, 40, 100, 7, 100, 25, 60, 100]:
        batch = [item() for _ in range(size)]
        with app.test_request_context():
            a = redemptions.ingest(fast, [dict(i) for i in batch], now, store=redemptions.POSTGRES)
            b = redemptions.ingest(general, [dict(i) for i in batch], now, store=redemptions.SESSION)
        pg.session.rollback()
        assert a == b
        kinds |= {r["status"] for r in a["results"]}
    assert kinds == {"accepted", "duplicate", "rejected"}
    fast_rows, fast_refused = _stored(pg, fast.id)
    general_rows, general_refused = _stored(pg, general.id)
    assert fast_rows == general_rows and fast_refused == general_refused and fast_rows and fast_refused


def _blocked_by(db, pid: int, timeout: float = 20.0) -> None:
    """Wait until some statement waits for the transaction of backend ``pid``."""
    from sqlalchemy import text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.engine.connect() as c:
            if c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                         {"pid": pid}).scalar():
                return
        time.sleep(0.02)
    raise AssertionError("the upload never waited for the first attempt")


def test_a_retry_racing_its_first_attempt_stores_each_item_once(h, app, client, pg):
    """The first attempt has inserted some items (accepted ones and refusals) and not committed yet when the
    retry arrives: the retry waits for it, then answers its items as the first attempt decided them (stored ->
    duplicate, refused -> the first attempt's reason), and every item is stored exactly once."""
    from sqlalchemy import text

    from backend.models import Redemption, RedemptionRejection
    vid = h.venue("Gate", "metro", [PERK])
    dev, device = _device(h, vid)
    now = int(time.time())
    good = [pp1_redemption(PERK, now) for _ in range(6)]
    bad = [dict(pp1_redemption(PERK, now), perk="OSM-LIB-LONGLOAN") for _ in range(2)]  # wrong_audience here
    first = pg.engine.connect()
    tx = first.begin()
    pid = first.execute(text("SELECT pg_backend_pid()")).scalar()
    for it in good[:3]:  # the first attempt stored these three ...
        first.execute(Redemption.__table__.insert().values(
            client_id=it["id"], device_id=device.id, venue_id=vid, audience="metro", jti=it["jti"],
            pseudonym=it["pseudonym"], perk=it["perk"], scanned_at=it["scanned_at"], received_at=now,
            cross_venue_replay=False))
    first.execute(RedemptionRejection.__table__.insert().values(  # ... and refused this one, for its reason
        client_id=bad[0]["id"], device_id=device.id, reason="scanned_in_future", received_at=now))
    answers = []

    def retry():
        with app.test_client() as c:
            answers.append(c.post("/api/v1/kiosk/redemptions", json={"redemptions": good + bad},
                                  headers=h.bearer(dev["device_token"])))

    t = threading.Thread(target=retry)
    t.start()
    try:
        _blocked_by(pg, pid)
    finally:
        tx.commit()
        first.close()
    t.join(30)
    r = answers[0]
    assert r.status_code == 200, r.json
    got = {x["id"]: (x["status"], x.get("reason")) for x in r.json["results"]}
    assert [got[i["id"]] for i in good] == [("duplicate", None)] * 3 + [("accepted", None)] * 3
    assert got[bad[0]["id"]] == ("rejected", "scanned_in_future")  # the first attempt's answer, kept
    assert got[bad[1]["id"]] == ("rejected", "wrong_audience")
    assert (r.json["accepted"], r.json["duplicates"], r.json["rejected"]) == (3, 3, 2)
    rows, refused = _stored(pg, device.id)
    assert sorted(x[0] for x in rows) == sorted(i["id"] for i in good)
    assert refused == {(bad[0]["id"], "scanned_in_future"), (bad[1]["id"], "wrong_audience")}
    # and the kiosk's next retry gets the same answers again
    again = client.post("/api/v1/kiosk/redemptions", json={"redemptions": good + bad},
                        headers=h.bearer(dev["device_token"])).json
    assert {x["id"]: (x["status"], x.get("reason")) for x in again["results"]} == {
        **{i["id"]: ("duplicate", None) for i in good}, **{k: v for k, v in got.items() if v[0] == "rejected"}}


def test_the_upload_stamps_last_seen_and_flags_replays_after_commit(h, app, client, pg):
    """last_seen_at moves with every upload; a code used at two venues is flagged on both rows."""
    from backend.models import Device, Redemption
    a = h.enrol(h.venue("Gate A", "metro", [PERK]))
    b = h.enrol(h.venue("Gate B", "metro", [PERK]))
    copied = pp1_redemption(PERK, int(time.time()))
    for dev in (a, b):
        r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": [dict(copied, id=str(uuid.uuid4()))]},
                        headers=h.bearer(dev["device_token"]))
        assert r.json["accepted"] == 1
    pg.session.expire_all()
    assert {r.cross_venue_replay for r in pg.session.query(Redemption).filter_by(jti=copied["jti"])} == {True}
    seen = pg.session.query(Device).filter_by(public_id=a["device_id"]).one().last_seen_at
    assert seen is not None and abs(seen - time.time()) < 60
