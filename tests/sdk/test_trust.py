"""Trust lists: signature, rollback, freshness, on-disk cache and HTTP with ETag."""

import http.server
import threading

import pytest

from partner_sdk import (
    FreshnessState, InvalidKeyError, Status, TrustListRollbackError, TrustListSignatureError,
    TrustListUnavailableError, TrustStore, Verifier,
)
from partner_sdk.testing import TestIssuer

from .conftest import T0


def test_bad_root_signature_is_refused(issuer):
    attacker = TestIssuer(issuer=issuer.issuer, seed=b"attacker", kid=issuer.kid)
    store = TrustStore(issuer.root_public_jwk)
    with pytest.raises(TrustListSignatureError):
        store.load_bytes(attacker.trust_list(T0))
    assert store.current is None


def test_garbage_trust_list_raises_a_typed_error(issuer):
    store = TrustStore(issuer.root_public_jwk)
    for junk in [b"", b"hello", b"a.b.c", b"\xff" * 100]:
        with pytest.raises(TrustListSignatureError):
            store.load_bytes(junk)


def test_credential_jws_cannot_pose_as_trust_list(issuer):
    # Signed by the right root key but of the wrong type: explicit typing refuses it.
    from partner_sdk.issue import issue_credential
    cred = issue_credential(signing_key=issuer.root_key, kid="root", issuer=issuer.issuer, audience="metro",
                            subject="A" * 22, perks=["X"], scheme="moli", now=T0)
    with pytest.raises(TrustListSignatureError):
        TrustStore(issuer.root_public_jwk).load_bytes(cred.jws)


@pytest.mark.parametrize("bad", ["not a key", {"kty": "RSA"}, b"short", {"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "AA"}])
def test_bad_root_key_is_a_configuration_error(bad):
    with pytest.raises(InvalidKeyError):
        TrustStore(bad)


def test_rollback_refused_and_newer_accepted(issuer):
    store = TrustStore(issuer.root_public_jwk)
    store.load_bytes(issuer.trust_list(T0, sequence=5), now=T0)
    with pytest.raises(TrustListRollbackError):
        store.load_bytes(issuer.trust_list(T0 + 10, sequence=4), now=T0 + 10)
    assert store.sequence == 5
    with pytest.raises(TrustListRollbackError):
        store.load_bytes(issuer.trust_list(T0 + 20, sequence=5), now=T0 + 20)  # same number, different content
    store.load_bytes(issuer.trust_list(T0 + 30, sequence=6), now=T0 + 30)
    assert store.sequence == 6


def test_freshness_fresh_stale_expired(issuer):
    store = issuer.trust_store(now=T0, next_update_in=3600, valid_for=86_400)
    assert store.freshness(T0 + 10).state is FreshnessState.FRESH
    stale = store.freshness(T0 + 7200)
    assert stale.state is FreshnessState.STALE and stale.age_seconds == 7200 and stale.describe() == "stale (2 h old)"
    assert store.freshness(T0 + 86_400).state is FreshnessState.EXPIRED
    assert TrustStore(issuer.root_public_jwk).freshness(T0).state is FreshnessState.MISSING


def test_cache_dir_lets_a_restart_work_offline_and_keeps_rollback_protection(issuer, tmp_path):
    store = TrustStore(issuer.root_public_jwk, cache_dir=tmp_path)
    store.load_bytes(issuer.trust_list(T0, sequence=9), now=T0)
    restarted = TrustStore(issuer.root_public_jwk, cache_dir=tmp_path)
    assert restarted.sequence == 9
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0 + 5)
    assert Verifier(restarted, "metro").verify(cred.qr_text, now=T0 + 5).granted
    (tmp_path / "trust-list.jws").write_bytes(issuer.trust_list(T0, sequence=3).encode())
    again = TrustStore(issuer.root_public_jwk, cache_dir=tmp_path)
    assert again.current is None  # the swapped-in old list is below the high-water mark
    with pytest.raises(TrustListRollbackError):
        again.load_bytes(issuer.trust_list(T0, sequence=8), now=T0)


def test_corrupt_cache_is_ignored_not_fatal(issuer, tmp_path):
    (tmp_path / "trust-list.jws").write_bytes(b"garbage")
    (tmp_path / "trust-state.json").write_bytes(b"{nope")
    store = TrustStore(issuer.root_public_jwk, cache_dir=tmp_path)
    assert store.current is None
    store.load_bytes(issuer.trust_list(T0), now=T0)
    assert store.sequence == 1


class _TrustListServer:
    def __init__(self, body: bytes):
        self.body, self.requests, self.down = body, [], False
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(dict(self.headers))
                if outer.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                etag = f'"{hash(outer.body)}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/jwt")
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v1/trust-list"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_load_url_uses_etag_and_falls_back_to_cache_offline(issuer, tmp_path):
    srv = _TrustListServer(issuer.trust_list(T0, sequence=2).encode())
    try:
        store = TrustStore(issuer.root_public_jwk, cache_dir=tmp_path)
        store.load_url(srv.url, now=T0)
        assert store.sequence == 2 and store.etag
        store.load_url(srv.url, now=T0)
        assert srv.requests[-1].get("If-None-Match") == store.etag
        srv.down = True
        assert store.load_url(srv.url).sequence == 2  # keeps working on what it holds
        restarted = TrustStore(issuer.root_public_jwk, cache_dir=tmp_path)
        assert restarted.load_url(srv.url).sequence == 2  # ... and after a restart, from the disk cache
    finally:
        srv.close()
    with pytest.raises(TrustListUnavailableError):
        TrustStore(issuer.root_public_jwk).load_url("http://127.0.0.1:9/nothing", timeout=0.5)


def test_verifier_answers_trust_list_expired_then_recovers_after_update(issuer):
    store = issuer.trust_store(now=T0 - 10 * 86_400)
    cred = issuer.credential("metro", ["MOLI-METRO20"], now=T0)
    v = Verifier(store, "metro")
    assert v.verify(cred.qr_text, now=T0).status is Status.TRUST_LIST_EXPIRED
    store.load_bytes(issuer.trust_list(T0 - 60, sequence=2), now=T0)
    assert v.verify(cred.qr_text, now=T0).granted
