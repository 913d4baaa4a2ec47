"""Issue 13 items 7 and 8, end to end: the backend's `keys rotate-root` (twice, while a kiosk and a partner
SDK are offline) and `keys compromise` (the drill), seen by a real KioskCore (headless, its own SQLite
stores and trust cache) and a partner's TrustStore, with codes a citizen's page fetches from the API."""
from __future__ import annotations

import json
import time

import pytest

from partner_sdk import Status, TrustListSignatureError, TrustStore, Verifier
from partner_sdk.format import pairwise_pseudonym
from partner_sdk.issue import issue_credential
from partner_sdk.trust import build_trust_list

from backend.services import keys as key_service
from backend.services import partners as partner_service

CITIZEN = "+8613900000977"


@pytest.fixture
def kiosk(h, client, tmp_path):
    """A metro kiosk enrolled from an exported file (no device token: it never talks to the backend)."""
    from kiosk.core import KioskCore
    venue_id = h.venue("Line 1 - Gate 3", "metro")
    cfg = partner_service.export_enrolment(venue_id, int(time.time()))
    (tmp_path / "enrol.json").write_text(json.dumps(cfg))
    cores = []

    def start():
        core = KioskCore(tmp_path / "kiosk", sync_interval=3600)
        cores.append(core)
        return core

    core = start()
    core.enrol_from_file(tmp_path / "enrol.json", pin="2468")
    yield core, start
    for c in cores:
        c.close()


def _export(runner, tmp_path, name) -> str:
    out = tmp_path / name
    res = runner.invoke(args=["trust-list", "export", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return str(out)


def _sdk_kid(store, qr) -> str:
    return Verifier(store, "metro", replay_cache=_Nothing()).verify(qr).kid


class _Nothing:
    def check_and_remember(self, *a):
        return True


def test_root_rotated_twice_while_offline_kiosk_and_sdk_sync_once(h, client, runner, kiosk, tmp_path):
    core, restart = kiosk
    token = h.citizen(CITIZEN, {"moli": 713})
    first_root = client.get("/api/v1/trust-root").json["root_public_key"]
    partner = TrustStore(first_root, cache_dir=tmp_path / "partner")
    partner.load_bytes(client.get("/api/v1/trust-list").data)
    assert core.process(h.issue(token, "metro")["qr_text"]).status == "GRANTED"
    old_roots = [r.id for r in key_service.root_rows()]

    # offline for weeks: two root rotations and a signing-key rotation happen meanwhile
    for args in (["keys", "rotate-root"], ["keys", "rotate", "--now"], ["keys", "rotate-root"]):
        res = runner.invoke(args=args)
        assert res.exit_code == 0, res.output
    assert "version 3" in res.output
    newest_root = client.get("/api/v1/trust-root").json["root_public_key"]
    assert newest_root["kid"] != first_root["kid"]

    # one sync each (a USB stick for the kiosk, HTTP for the partner)
    seq = core.load_trust_file(_export(runner, tmp_path, "newest.jws"))
    partner.load_bytes(client.get("/api/v1/trust-list").data)
    assert core.trust_store.root_version == 3 and partner.root_version == 3 and partner.sequence == seq
    code = h.issue(token, "metro")["qr_text"]
    assert _sdk_kid(partner, code) == key_service.current_signing_key(int(time.time())).kid
    assert core.process(code).status == "GRANTED"
    assert Verifier(partner, "metro").verify(code).granted

    # a list signed by a retired root after the rotation (its key stolen, say) is refused, also after a restart
    retired = key_service.private_key(key_service.root_rows()[0])
    assert key_service.root_rows()[0].id == old_roots[0]
    forged = build_trust_list(root_key=retired, issuer=partner.issuer, keys=[], sequence=seq + 5, now=time.time())
    (tmp_path / "forged.jws").write_text(forged)
    with pytest.raises(TrustListSignatureError):
        core.load_trust_file(tmp_path / "forged.jws")
    with pytest.raises(TrustListSignatureError):
        partner.load_bytes(forged)
    core.close()
    again = restart()
    assert again.trust_store.root_version == 3 and again.trust_store.sequence == seq
    with pytest.raises(TrustListSignatureError):
        again.load_trust_file(tmp_path / "forged.jws")
    assert again.process(h.issue(token, "metro")["qr_text"]).status == "GRANTED"
    restarted_partner = TrustStore(first_root, cache_dir=tmp_path / "partner")
    with pytest.raises(TrustListSignatureError):
        restarted_partner.load_bytes(forged)


def test_key_compromise_drill_kiosk_and_sdk_refuse_citizens_get_fresh_codes(h, client, runner, kiosk, tmp_path):
    core, _ = kiosk
    token = h.citizen(CITIZEN, {"moli": 713})
    before = h.issue(token, "metro")
    unused = h.issue(token, "metro")  # shown later, after the drill
    partner = h.trust_store()
    stolen_kid = _sdk_kid(partner, before["qr_text"])
    assert core.process(before["qr_text"]).status == "GRANTED"

    leak_began = int(time.time()) - 600
    res = runner.invoke(args=["keys", "compromise", stolen_kid, "--at", str(leak_began)])
    assert res.exit_code == 0, res.output
    assert "emergency trust list" in res.output and "signing now with" in res.output

    # the citizen's page refreshes: a code under the new key, no error
    fresh = h.issue(token, "metro")
    assert fresh["qr_text"] and _sdk_kid(h.trust_store(), fresh["qr_text"]) != stolen_kid
    # the JWKS no longer offers the key; the trust list keeps it, marked
    assert stolen_kid not in {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}
    partner.load_bytes(client.get("/api/v1/trust-list").data)
    assert partner.key(stolen_kid).revoked_at == leak_began

    # a thief's code, backdated to before the leak, and a genuine unused one: both refused
    thief = issue_credential(signing_key=key_service.private_key(_row(stolen_kid)), kid=stolen_kid,
                             issuer=partner.issuer, audience="metro", subject=pairwise_pseudonym(b"x" * 16, "c", "metro"),
                             perks=["MOLI-METRO20"], scheme="moli", now=leak_began - 30)
    core.load_trust_file(_export(runner, tmp_path, "emergency.jws"))
    for code in (unused["qr_text"], thief.qr_text):
        assert Verifier(partner, "metro").verify(code).status is Status.REVOKED
        assert core.process(code).status == "REVOKED"
    assert core.process(fresh["qr_text"]).status == "GRANTED"
    assert Verifier(partner, "metro").verify(fresh["qr_text"]).granted
    listing = {r["kid"]: r for r in key_service.listing(int(time.time()))}
    assert listing[stolen_kid]["state"] == "compromised"


def test_compromise_refuses_future_instants_and_unknown_keys(runner):
    res = runner.invoke(args=["keys", "compromise", "no-such-key"])
    assert res.exit_code != 0 and "unknown key" in res.output
    kid = key_service.listing(int(time.time()))[-1]["kid"]
    res = runner.invoke(args=["keys", "compromise", kid, "--at", str(int(time.time()) + 3600)])
    assert res.exit_code != 0 and "future" in res.output


def _row(kid):
    from sqlalchemy import select
    from backend.extensions import db
    from backend.models import SigningKey
    return db.session.scalars(select(SigningKey).where(SigningKey.kid == kid)).first()
