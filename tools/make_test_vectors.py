"""Write assets/test-vectors/perkpass-v1.json: cases other-language verifiers must answer identically.

Deterministic (keys derived from a fixed seed, Ed25519 signatures deterministic, fixed jti and time), so
re-running it reproduces the file byte for byte; the test suite checks that.

    python tools/make_test_vectors.py            # rewrite the file
    python tools/make_test_vectors.py --check    # exit 1 if the file is out of date
"""

from __future__ import annotations

import base64
import hmac
import hashlib
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from partner_sdk import TrustedKey
from partner_sdk.keys import public_jwk
from partner_sdk import format as fmt
from partner_sdk import keyprofile, pp2
from partner_sdk.keys import b64url_encode
from partner_sdk.testing import TestIssuer, derived_key

OUT = Path(__file__).resolve().parent.parent / "assets" / "test-vectors" / "perkpass-v1.json"
NOW = 1_795_000_000  # 2026-11-17T... UTC, a fixed instant
AUD = "library"
PERKS = ["BAILU-LIB-DEPOSIT", "BAILU-LIB-PRIORITY", "BAILU-MUSEUM"]


def _forge(header: dict, payload: bytes, sig: bytes) -> str:
    """Pack arbitrary header/payload/signature into PP1 transport (for hostile cases)."""
    h = fmt.canonical_json(header)
    jws = ".".join((b64url_encode(h), b64url_encode(payload), b64url_encode(sig)))
    return fmt.jws_to_qr_text(jws)


def _pp2_cases(iss: TestIssuer, case, tl: str) -> None:
    """PP2: a certificate for a device key, presentations signed by that key (see partner_sdk.pp2).

    Every status and every refusal class of the spec, for both device key types (suffix _ed25519 / _p256)."""
    ed = derived_key(b"perkpass-test-vectors-v1", "device-ed25519")
    p256 = ec.derive_private_key(int.from_bytes(hashlib.sha256(b"vector-device-p256").digest(), "big") % (2**255),
                                 ec.SECP256R1())
    metro = ["MOLI-METRO20"]
    devices = {"ed25519": (ed, b"pp2-vector-1", derived_key(b"perkpass-test-vectors-v1", "device-thief")),
               "p256": (p256, b"pp2-vector-2", ec.derive_private_key(7 ** 70 % (2**255), ec.SECP256R1()))}
    for kt, (dev, cid, thief) in devices.items():
        cert = iss.certificate("metro", metro, dev.public_key(), now=NOW - 3600, cert_id=cid)
        good = pp2.sign_presentation(cert.raw, dev, NOW)
        n = cid[-1:].decode()

        def c(name: str, qr: str, expected: list[str], kt: str = kt, **kw) -> None:
            kw.setdefault("now", NOW + 10)
            kw.setdefault("audience", "metro")
            case(f"pp2_{name}_{kt}", qr, expected, **kw)

        c("valid", good, ["GRANTED"], note="device signature is ECDSA P-256/SHA-256 as r||s (WebCrypto's form)"
          if kt == "p256" else "")
        c("replayed", good, ["GRANTED", "REPLAYED"])
        c("second_slot_same_certificate", pp2.sign_presentation(cert.raw, dev, NOW + 40), ["REPLAYED"], now=NOW + 40,
          prior=[{"qr_text": good, "now": NOW + 10, "perk": None}],
          note="one grant per certificate and perk per reuse interval (2 x (window + leeway) = 130 s): a fresh "
               "presentation of a certificate granted 30 s ago is refused")
        c("after_reuse_interval", pp2.sign_presentation(cert.raw, dev, NOW + 145), ["GRANTED"], now=NOW + 145,
          prior=[{"qr_text": good, "now": NOW + 10, "perk": None}],
          note="135 s after the grant the same certificate is granted again")
        c("clock_skew_phone_ahead", pp2.sign_presentation(cert.raw, dev, NOW + 120), ["CLOCK_SKEW"], now=NOW,
          note="presentation window 60 s + leeway 5 s")
        c("clock_skew_old_screenshot", good, ["CLOCK_SKEW"], now=NOW + 66)
        c("wrong_audience", good, ["WRONG_AUDIENCE"], audience="library")
        c("not_entitled", good, ["NOT_ENTITLED"], perk="MOLI-GOV-ASSIST")
        c("certificate_expired", pp2.sign_presentation(cert.raw, dev, NOW - 3600 + 86_400 + 10), ["EXPIRED"],
          now=NOW - 3600 + 86_400 + 10)
        young = iss.certificate("metro", metro, dev.public_key(), now=NOW + 600, cert_id=b"pp2-youngc-" + n.encode())
        c("certificate_not_yet_valid", pp2.sign_presentation(young.raw, dev, NOW), ["NOT_YET_VALID"],
          note="not_before 600 s after the verifier's clock")
        c("presented_before_certificate", pp2.sign_presentation(young.raw, dev, NOW + 590), ["EXPIRED"],
          now=NOW + 620, note="presented_at before not_before - leeway: outside the certificate's validity")
        c("other_device_key", pp2.sign_presentation(cert.raw, thief, NOW), ["BAD_SIGNATURE"])
        rogue = iss.certificate("metro", metro, dev.public_key(), now=NOW - 3600, cert_id=b"pp2-vector-3",
                                signing_key=derived_key(b"someone-else", "k"))
        c("certificate_other_key", pp2.sign_presentation(rogue.raw, dev, NOW), ["BAD_SIGNATURE"])
        unknown = iss.certificate("metro", metro, dev.public_key(), now=NOW - 3600, cert_id=b"pp2-vector-5",
                                  signing_key=derived_key(b"someone-else", "k"), kid="not-in-trust-list")
        c("unknown_key_reference", pp2.sign_presentation(unknown.raw, dev, NOW), ["UNKNOWN_KEY"])
        old = iss.certificate("metro", metro, dev.public_key(), now=NOW - 2 * 86_400, cert_id=b"pp2-vector-6",
                              lifetime=7 * 86_400)
        c("certified_outside_key_window", pp2.sign_presentation(old.raw, dev, NOW), ["UNKNOWN_KEY"],
          note="not_before lies before the signing key's nbf")
        other = iss.certificate("metro", metro, dev.public_key(), now=NOW - 3600, cert_id=b"pp2-vector-4")
        spliced = fmt.digits_to_bytes(pp2.sign_presentation(other.raw, dev, NOW)[3:])[len(other.raw):]
        c("spliced", pp2.pack_qr_text(cert.raw + spliced), ["BAD_SIGNATURE"],
          note="certificate of one code, presentation of another")
        revoked_tl = iss.trust_list(NOW - 1800, sequence=7, revoked=[cert.cert_id])
        c("revoked", good, ["REVOKED"], trust_list=revoked_tl)
        late_now = NOW - 3600 + 7 * 86_400 + 60
        c("trust_list_expired", pp2.sign_presentation(cert.raw, dev, late_now), ["TRUST_LIST_EXPIRED"], now=late_now)
        c("truncated", good[:-20], ["MALFORMED"])
        key_type = pp2.KEY_ED25519 if kt == "ed25519" else pp2.KEY_P256
        dev_raw = pp2.device_key_bytes(dev.public_key())[1]
        too_long = iss.hostile_certificate("metro", metro, key_type, dev_raw, NOW - 3600, NOW - 3600 + 7 * 86_400 + 1,
                                           cert_id=b"pp2-vector-7")
        c("lifetime_over_maximum", pp2.sign_presentation(too_long.raw, dev, NOW), ["MALFORMED"],
          note="not_after - not_before = 7 days + 1 s")
        sig = pp2.parse_qr_text(good).signature
        if kt == "ed25519":
            s_plus_l = sig[:32] + (int.from_bytes(sig[32:], "little") + keyprofile.ED25519_L).to_bytes(32, "little")
            c("signature_s_not_reduced", pp2.pack_presentation(cert.raw, NOW, s_plus_l), ["BAD_SIGNATURE"],
              note="S + L: RFC 8032 requires S < L")
            r_bad = (int.from_bytes(sig[:32], "little") | (2**255 - 1)).to_bytes(32, "little")
            c("signature_r_not_canonical", pp2.pack_presentation(cert.raw, NOW, r_bad + sig[32:]), ["BAD_SIGNATURE"],
              note="R's y >= p")
        else:
            order = keyprofile.P256_N.to_bytes(32, "big")
            c("signature_r_zero", pp2.pack_presentation(cert.raw, NOW, bytes(32) + sig[32:]), ["BAD_SIGNATURE"])
            c("signature_s_equals_n", pp2.pack_presentation(cert.raw, NOW, sig[:32] + order), ["BAD_SIGNATURE"],
              note="0 < r, s < n")

    # device keys outside the key profile: MALFORMED whatever the signature (partner_sdk.keyprofile)
    identity = bytes([1]) + bytes(31)
    forged = identity + bytes(32)  # R = identity, S = 0: "verifies" under the identity key without any secret
    small = sorted(keyprofile.SMALL_ORDER_ED25519)
    ed_bad = {
        "small_order_identity": identity,
        "small_order_2": (keyprofile.ED25519_P - 1).to_bytes(32, "little"),
        "small_order_8": next(e for e in small if e.hex().startswith("c7176a70") and e[31] < 0x80),
        "small_order_non_canonical": (keyprofile.ED25519_P + 1).to_bytes(32, "little"),
        "non_canonical": next((y + keyprofile.ED25519_P).to_bytes(32, "little") for y in range(2, 19)
                              if _is_point(y.to_bytes(32, "little"))),
        "not_on_curve": next(y.to_bytes(32, "little") for y in range(2, 100)
                             if not _is_point(y.to_bytes(32, "little"))),
    }
    for i, (name, raw) in enumerate(ed_bad.items()):
        bad = iss.hostile_certificate("metro", metro, pp2.KEY_ED25519, raw, NOW - 3600, NOW + 3600,
                                      cert_id=b"pp2-badkey%02d" % i)
        case(f"pp2_device_key_{name}_ed25519", pp2.pack_presentation(bad.raw, NOW, forged), ["MALFORMED"],
             now=NOW + 10, audience="metro")
    x, y = p256_raw_xy(p256)
    p_bad = {
        "not_on_curve": b"\x04" + x + bytes(31) + b"\x05",
        "compressed": bytes([2 + (y[-1] & 1)]) + x + bytes(32),
        "hybrid": bytes([6 + (y[-1] & 1)]) + x + y,
        "infinity": bytes(65),
        "y_not_reduced": b"\x04" + x + b"\xff" * 32,
    }
    for i, (name, raw) in enumerate(p_bad.items()):
        bad = iss.hostile_certificate("metro", metro, pp2.KEY_P256, raw, NOW - 3600, NOW + 3600,
                                      cert_id=b"pp2-badkey%02d" % (20 + i))
        case(f"pp2_device_key_{name}_p256", pp2.pack_presentation(bad.raw, NOW, b"\x01" * 64), ["MALFORMED"],
             now=NOW + 10, audience="metro")
    case("pp2_garbage_digits", "PP2" + "123456789" * 30, ["MALFORMED"], now=NOW + 10, audience="metro")


def _resigned(iss: TestIssuer, trust_list: str, **changes) -> str:
    """The same trust list with payload members replaced, signed again by the root: hostile but genuine."""
    import jwt
    header_b64, payload_b64, _ = trust_list.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    payload.update(changes)
    return jwt.PyJWS(algorithms=[fmt.ALGORITHM]).encode(
        fmt.canonical_json(payload), iss.root_key, algorithm=fmt.ALGORITHM,
        headers={"kid": header["kid"], "typ": header["typ"]})


def _is_point(raw: bytes) -> bool:
    try:
        keyprofile.ed25519_decode(raw)
    except ValueError:
        return False
    return True


def p256_raw_xy(key: ec.EllipticCurvePrivateKey) -> tuple[bytes, bytes]:
    raw = pp2.device_key_bytes(key.public_key())[1]
    return raw[1:33], raw[33:]


def build() -> dict:
    iss = TestIssuer(issuer="perkpass.xiamen", seed=b"perkpass-test-vectors-v1", kid="xm-2026-11",
                     key_window=(NOW - 86_400, NOW + 30 * 86_400))
    tl = iss.trust_list(NOW - 3600, sequence=7, next_update_in=86_400, valid_for=7 * 86_400)
    good = iss.credential(AUD, PERKS, now=NOW, citizen="vector-citizen", scheme="bailu", jti="vectorjti0000001")
    raw = fmt.parse_qr_text(good.qr_text)
    payload = json.loads(raw.payload_json)
    cases: list[dict] = []

    def case(name: str, qr_text: str, expected: list[str], *, now: int = NOW, trust_list: str = tl,
             audience: str = AUD, perk: str | None = None, note: str = "", prior: list | None = None) -> None:
        entry = {"name": name, "note": note, "trust_list": trust_list, "now": now, "audience": audience,
                 "perk": perk, "qr_text": qr_text, "expected": expected}
        if prior:
            entry["prior"] = prior
        cases.append(entry)

    case("valid", good.qr_text, ["GRANTED"], now=NOW + 10)
    case("valid_lowercase_prefix", "pp1" + good.qr_text[3:], ["GRANTED"], now=NOW + 10,
         note="keyboard-wedge scanners may send the prefix in lower case")
    case("valid_bare_jws", good.jws, ["GRANTED"], now=NOW + 10, note="the compact JWS itself is also accepted")
    case("valid_specific_perk", good.qr_text, ["GRANTED"], now=NOW + 10, perk="BAILU-LIB-DEPOSIT")
    case("not_entitled_to_perk", good.qr_text, ["NOT_ENTITLED"], now=NOW + 10, perk="BAILU-LIB-LONGLOAN")
    case("replayed", good.qr_text, ["GRANTED", "REPLAYED"], now=NOW + 10, note="verify twice with one replay cache")
    case("expired", good.qr_text, ["EXPIRED"], now=good.expires_at + 10, note="default leeway 5 s")
    case("not_yet_valid", good.qr_text, ["NOT_YET_VALID"], now=NOW - 60)
    case("wrong_audience", good.qr_text, ["WRONG_AUDIENCE"], now=NOW + 10, audience="metro")

    tampered = dict(payload, prk=PERKS + ["BAILU-VIP"])
    case("tampered_payload", _forge(json.loads(raw.header_json), fmt.canonical_json(tampered), raw.signature),
         ["BAD_SIGNATURE"], now=NOW + 10)
    bad_sig = bytes([raw.signature[0] ^ 1]) + raw.signature[1:]
    case("tampered_signature", _forge(json.loads(raw.header_json), raw.payload_json, bad_sig), ["BAD_SIGNATURE"],
         now=NOW + 10)

    other = derived_key(b"someone-else", "k")
    unknown = iss.credential(AUD, PERKS, now=NOW, citizen="vector-citizen", scheme="bailu", jti="vectorjti0000002",
                             signing_key=other, kid="not-in-trust-list")
    case("unknown_kid", unknown.qr_text, ["UNKNOWN_KEY"], now=NOW + 10)
    # Right kid, wrong key: the signature check must use the trust list's key for that kid.
    impostor = iss.credential(AUD, PERKS, now=NOW, citizen="vector-citizen", scheme="bailu", jti="vectorjti0000003",
                              signing_key=other)
    case("known_kid_wrong_key", impostor.qr_text, ["BAD_SIGNATURE"], now=NOW + 10)

    none_header = {"alg": "none", "kid": iss.kid, "typ": fmt.CREDENTIAL_TYP}
    case("alg_none", _forge(none_header, raw.payload_json, bytes(64)), ["BAD_SIGNATURE"], now=NOW + 10)
    bare = ".".join((b64url_encode(fmt.canonical_json(none_header)), b64url_encode(raw.payload_json), ""))
    case("alg_none_bare_jws", bare, ["BAD_SIGNATURE"], now=NOW + 10)
    hs_header = {"alg": "HS512", "kid": iss.kid, "typ": fmt.CREDENTIAL_TYP}
    pub_raw = base64.urlsafe_b64decode(public_jwk(iss.signing_key)["x"] + "=")
    h_b64, p_b64 = b64url_encode(fmt.canonical_json(hs_header)), b64url_encode(raw.payload_json)
    hs_sig = hmac.new(pub_raw, f"{h_b64}.{p_b64}".encode(), hashlib.sha512).digest()
    case("hmac_with_public_key", _forge(hs_header, raw.payload_json, hs_sig), ["BAD_SIGNATURE"], now=NOW + 10,
         note="HS512 keyed with the issuer's public key bytes (algorithm confusion)")
    crit_header = {"alg": "EdDSA", "kid": iss.kid, "typ": fmt.CREDENTIAL_TYP, "crit": ["x-perkpass-future"],
                   "x-perkpass-future": True}
    case("unknown_crit_header", _forge(crit_header, raw.payload_json, raw.signature), ["MALFORMED"], now=NOW + 10)

    wrong_iss = iss.credential(AUD, PERKS, now=NOW, citizen="vector-citizen", scheme="bailu", jti="vectorjti0000004",
                               issuer="perkpass.elsewhere")
    case("wrong_issuer", wrong_iss.qr_text, ["WRONG_ISSUER"], now=NOW + 10)
    case("unsupported_version", "PP9" + good.qr_text[3:], ["UNSUPPORTED_VERSION"], now=NOW + 10)
    case("oversize", "PP1" + "7" * 5000, ["MALFORMED"], now=NOW + 10, note="length is capped before any parsing")
    case("garbage", "https://example.com/not-a-perkpass-code", ["MALFORMED"], now=NOW + 10)
    case("missing_sentinel", "PP1" + "9" * 200, ["MALFORMED"], now=NOW + 10)
    case("truncated", good.qr_text[:-10], ["MALFORMED"], now=NOW + 10)

    stale_now = NOW - 3600 + 86_400 + 600
    stale_code = iss.credential(AUD, PERKS, now=stale_now, citizen="vector-citizen", scheme="bailu",
                                jti="vectorjti0000005")
    case("stale_trust_list", stale_code.qr_text, ["GRANTED"], now=stale_now + 5,
         note="past next_update but before exp: still granted, verifier shows it is stale")
    late_now = NOW - 3600 + 7 * 86_400 + 60
    late_code = iss.credential(AUD, PERKS, now=late_now, citizen="vector-citizen", scheme="bailu",
                               jti="vectorjti0000006")
    case("expired_trust_list", late_code.qr_text, ["TRUST_LIST_EXPIRED"], now=late_now + 5)
    window_code = iss.credential(AUD, PERKS, now=NOW + 40 * 86_400, citizen="vector-citizen", scheme="bailu",
                                 jti="vectorjti0000007")
    tl_long = iss.trust_list(NOW + 40 * 86_400 - 60, sequence=8)
    case("signed_after_key_window", window_code.qr_text, ["UNKNOWN_KEY"], now=NOW + 40 * 86_400 + 5, trust_list=tl_long,
         note="the key's not_after has passed: its signatures are no longer accepted")

    # issue 10.2: only the exact signed bytes: an unused low bit set in the last base64url character
    h, p, s = good.jws.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    case("non_canonical_base64url", ".".join((h, p, s[:-1] + alphabet[alphabet.index(s[-1]) | 1])), ["MALFORMED"],
         now=NOW + 10, note="the signature segment decodes leniently to the genuine bytes; canonical base64url only")
    # issue 13.8: a compromised key, listed with revoked_at, refuses its codes from that instant whatever their iat
    marked = TrustedKey(iss.kid, iss.signing_key.public_key(), *iss.key_window, revoked_at=NOW + 5)
    case("compromised_key", good.qr_text, ["REVOKED"], now=NOW + 10,
         trust_list=iss.trust_list(NOW + 5, sequence=9, keys=[marked]),
         note="the signing key is listed with revoked_at: every code it signed is refused from then on")

    _pp2_cases(iss, case, tl)

    older = iss.trust_list(NOW - 7200, sequence=6)
    foreign_root = TestIssuer(issuer="perkpass.xiamen", seed=b"attacker", kid=iss.kid).trust_list(NOW - 60, sequence=99)
    trust_list_cases = [
        {"name": "newer_accepted", "load": [older, tl], "expected": ["OK", "OK"]},
        {"name": "rollback_refused", "load": [tl, older], "expected": ["OK", "ROLLBACK"],
         "note": "sequence 6 after 7 is refused; the store keeps sequence 7"},
        {"name": "foreign_root_refused", "load": [foreign_root], "expected": ["BAD_SIGNATURE"]},
    ]
    # issue 13.7: root rotation. The same issuer rotates its root twice; the verifier pinned the first root.
    rot = TestIssuer(issuer=iss.issuer, seed=b"perkpass-test-vectors-v1", kid=iss.kid, key_window=iss.key_window)
    retired = rot.root_key
    rot.rotate_root(NOW - 3000)
    rot.rotate_root(NOW - 2000)
    rotated = rot.trust_list(NOW - 1000, sequence=20)
    from partner_sdk.trust import build_trust_list
    by_retired = build_trust_list(root_key=retired, issuer=iss.issuer, keys=rot.trusted_keys(), sequence=21,
                                  now=NOW - 500)
    dup = rot.trusted_keys()[0]
    trust_list_cases += [
        {"name": "root_chain_followed", "load": [tl, rotated], "expected": ["OK", "OK"],
         "note": "signed by root 3, carrying the statements root 1 -> 2 -> 3: followed from the pinned root 1"},
        {"name": "retired_root_refused_after_rotation", "load": [rotated, by_retired],
         "expected": ["OK", "BAD_SIGNATURE"],
         "note": "once root 3 is held, a list signed by root 1 is refused whatever its sequence"},
        {"name": "duplicate_kid_refused", "expected": ["MALFORMED"],
         "load": [iss.trust_list(NOW - 60, sequence=30, keys=[
             dup, TrustedKey(dup.kid, derived_key(b"x", "y").public_key(), *iss.key_window)])]},
    ]
    # issue 18.3: a malformed `revoked` member makes the whole list invalid, never "no revocations"
    ok_ids = sorted(b64url_encode(bytes([i]) * 12) for i in (1, 2, 3))
    for name, member in (("revoked_length_not_multiple_of_16", "".join(ok_ids)[:-1]),
                         ("revoked_unsorted", ok_ids[1] + ok_ids[0]),
                         ("revoked_duplicate", ok_ids[0] * 2),
                         ("revoked_padding_character", ok_ids[0][:-1] + "="),
                         ("revoked_empty_string", ""),
                         ("revoked_sorted_by_bytes_not_text", "A" * 16 + "0" + "A" * 15)):
        trust_list_cases.append({"name": name, "expected": ["MALFORMED"],
                                 "load": [_resigned(iss, iss.trust_list(NOW - 60, sequence=40), revoked=member)]})
    return {
        "description": "Perkpass credential formats PP1 and PP2 (cases named pp2_*) test vectors. "
                       "Verify each case's qr_text at 'now' "
                       "(epoch seconds) for 'audience' (and 'perk' when not null) with a fresh replay cache, "
                       "a trust store pinned to root_public_key and loaded with trust_list, leeway 5 s; "
                       "verify repeatedly to get every status in 'expected'; when a case has 'prior', first "
                       "verify each of its codes (at its 'now', for its 'perk') with the same verifier and replay "
                       "cache, ignoring their answers. Load each trust list as of its own "
                       "iat. trust_list_cases: load the lists in order into one store; OK, ROLLBACK, "
                       "BAD_SIGNATURE (not signed by the root held) or MALFORMED (any other refusal).",
        "format": fmt.QR_PREFIX,
        "preset_dictionary_b64": base64.b64encode(fmt.PRESET_DICTIONARY).decode(),
        "root_public_key": iss.root_public_jwk,
        "issuer": iss.issuer,
        "issuer_keys": [TrustedKey(iss.kid, iss.signing_key.public_key(), *iss.key_window).to_jwk()],
        "leeway": 5,
        "cases": cases,
        "trust_list_cases": trust_list_cases,
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.exists() and OUT.read_text() == text else 1)
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(json.loads(text)['cases'])} cases)")
