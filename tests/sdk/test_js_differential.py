"""The JavaScript verifier (clients/js, written from docs/credential-format.md) and the Python SDK give the same
answer to the same hostile inputs: mutated digits and bytes, crafted headers and claims *signed by the real
issuer key* (so every claims rule is reached), crafted PP2 certificates and claims blocks, clock boundaries,
white space and prefix variants. Every disagreement is a spec gap or a bug in one of them.

A missing Node fails the test (as in test_credential_format_spec.py), it never skips. PP3 (issue 23, BBS proofs) is
not in clients/js: there a PP3 code answers UNSUPPORTED_VERSION, as from any verifier that predates it, so the
unsupported-version inputs here use versions no one defines."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from partner_sdk import TrustedKey, TrustListError, TrustStore, Verifier
from partner_sdk import format as fmt
from partner_sdk import keyprofile, pp2
from partner_sdk.keys import b64url_encode
from partner_sdk.testing import TestIssuer, derived_key
from partner_sdk.trust import build_root_statement

ROOT = Path(__file__).resolve().parents[2]
T = 1_795_000_000
ISSUER = TestIssuer(issuer="perkpass.diff", seed=b"js-differential", kid="diff-key-1", key_window=(T - 86_400, T + 86_400))
TRUST_LIST = ISSUER.trust_list(T - 3600, sequence=3)
ED = derived_key(b"js-differential", "device")
P256 = ec.derive_private_key(int.from_bytes(hashlib.sha256(b"js-differential-p256").digest(), "big") % 2**255,
                             ec.SECP256R1())
HEADER = {"alg": "EdDSA", "kid": ISSUER.kid, "typ": fmt.CREDENTIAL_TYP}


def payload(**changes: Any) -> dict[str, Any]:
    p = {"iss": ISSUER.issuer, "aud": "metro", "iat": T, "exp": T + 90, "jti": "diffjti000000001",
         "sub": "diffsub000000001", "sch": "moli", "prk": ["MOLI-METRO20"]}
    p.update(changes)
    return {k: v for k, v in p.items() if v is not DROP}


DROP = object()


def signed_pp1(header: bytes | dict[str, Any], body: bytes | dict[str, Any], bare: bool = False) -> str:
    """A PP1 code over arbitrary header and payload bytes, signed by the issuer's real key."""
    h = header if isinstance(header, bytes) else fmt.canonical_json(header)
    p = body if isinstance(body, bytes) else fmt.canonical_json(body)
    sig = ISSUER.signing_key.sign(fmt.b64url_bytes(h) + b"." + fmt.b64url_bytes(p))
    if bare or b"\x00" in h or b"\x00" in p:
        return ".".join((b64url_encode(h), b64url_encode(p), b64url_encode(sig)))
    return fmt.pack_qr_text(h, p, sig)


def pp2_code(plain: bytes | None = None, *, key_type: int = pp2.KEY_ED25519, device_key: bytes | None = None,
             not_before: int = T - 3600, not_after: int = T + 3600, presented_at: int = T, block: bytes | None = None,
             sign_with: Any = None) -> str:
    """A PP2 code with any claims plaintext (or raw block), device key bytes and validity, issuer-signed."""
    if device_key is None:
        device_key = pp2.device_key_bytes(ED.public_key() if key_type == pp2.KEY_ED25519 else P256.public_key())[1]
    if block is None:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, pp2.PRESET_DICTIONARY)
        block = comp.compress(plain if plain is not None else b"metro\x00moli\x00\x00MOLI-METRO20") + comp.flush()
    body = (struct.pack(">B8sII12s", 0x20 | key_type, pp2.kid_reference(ISSUER.kid), not_before, not_after,
                        b"diff-cert-01") + device_key + bytes((len(block),)) + block)
    cert = body + ISSUER.signing_key.sign(pp2.cert_signed_input(ISSUER.issuer, body))
    device = sign_with if sign_with is not None else (ED if key_type == pp2.KEY_ED25519 else P256)
    return pp2.sign_presentation(cert, device, presented_at)


def mutations(code: str, rng: random.Random, n: int) -> list[str]:
    """Digit edits of the text and bit flips, cuts and insertions in the transported bytes."""
    prefix, digits = code[:3], code[3:]
    data = fmt.digits_to_bytes(digits)
    out = []
    for _ in range(n):
        kind = rng.randrange(5)
        if kind == 0:
            i = rng.randrange(len(digits))
            out.append(prefix + digits[:i] + str((int(digits[i]) + rng.randrange(1, 10)) % 10) + digits[i + 1:])
        elif kind == 1:
            b = bytearray(data)
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
            out.append(prefix + fmt.bytes_to_digits(bytes(b)))
        elif kind == 2:
            i = rng.randrange(len(data))
            out.append(prefix + fmt.bytes_to_digits(data[:i] + data[i + rng.randrange(1, 4):]))
        elif kind == 3:
            i = rng.randrange(len(data))
            out.append(prefix + fmt.bytes_to_digits(data[:i] + bytes([rng.randrange(256)]) + data[i:]))
        else:
            b = bytearray(data)
            for _ in range(rng.randrange(1, 6)):
                b[rng.randrange(min(len(b), 100))] = rng.randrange(256)  # the compressed part, mostly
            out.append(prefix + fmt.bytes_to_digits(bytes(b)))
    return out


def claims_cases() -> list[str]:
    """Payloads that reach every claims rule: the signature is valid, so only the claims decide."""
    raw = fmt.canonical_json
    bodies: list[bytes | dict[str, Any]] = [
        payload(), payload(bnd="GOLD"), payload(bnd=None), payload(bnd=""), payload(bnd=5), payload(bnd="a b"),
        payload(iat=float(T)), payload(exp=T + 90.0), payload(iat=True), payload(iat=-1), payload(iat=2**40),
        payload(iat=2**40 - 1, exp=2**40 - 1 + 90), payload(exp=T), payload(exp=T + 300), payload(exp=T + 301),
        payload(exp=T - 1), payload(prk=[]), payload(prk=["MOLI-METRO20"] * 8), payload(prk=["A"] * 9),
        payload(prk=["moli-metro20"]), payload(prk="MOLI-METRO20"), payload(prk=[1]), payload(prk=["B", "A"]),
        payload(iss=""), payload(iss="x" * 64), payload(iss="x" * 65), payload(iss="é" * 64), payload(iss="\U0001F600" * 40),
        payload(iss=5), payload(aud="Metro"), payload(aud="m"), payload(aud="library"), payload(sch="MOLI"),
        payload(jti="short"), payload(jti="a" * 64), payload(jti="a" * 65), payload(sub="with space000"),
        payload(extra=1), payload(iss=DROP), payload(prk=DROP), payload(iss="perkpass.other"),
        payload(iat=T + 200, exp=T + 290), payload(iat=T - 100_000, exp=T - 99_950),
        raw(payload())[:-1] + b',"prk":["MOLI-GOV-ASSIST"]}',  # duplicate member: the last wins
        b" " + raw(payload()) + b"\n",
        json.dumps(payload(), indent=1).encode(),
        json.dumps(dict(reversed(list(payload().items())))).encode(),
        raw(payload()).replace(b'"iat":1795000000', b'"iat":1.795e9'),
        raw(payload()).replace(b'"iat":1795000000', b'"iat":1795000000.0'),
        raw(payload()).replace(b'"iat":1795000000', b'"iat":NaN'),
        raw(payload()).replace(b'"iat":1795000000', b'"iat":-0'),
        raw(payload()).replace(b'"iat":1795000000', b'"iat":01795000000'),
        raw(payload()).replace(b'"sch":"moli"', b'"sch":"mo\\u006ci"'),
        raw(payload()).replace(b'"sch":"moli"', b'"sch":"moli\\u0000"'),
        raw(payload()).replace(b'"iss":"perkpass.diff"', b'"iss":"perkpass.di\\u0066f"'),
        raw(payload()).replace(b'"iss":"perkpass.diff"', b'"iss":"perkpass\tdiff"'),
        raw(payload()).replace(b'"prk":["MOLI-METRO20"]', b'"prk":[["MOLI-METRO20"]]'),
        raw(payload()).replace(b'"prk":["MOLI-METRO20"]', b'"prk":' + b"[" * 17 + b"]" * 17),
        raw(payload()).replace(b'"prk":["MOLI-METRO20"]', b'"prk":["MOLI-METRO20"],"x":' + b"[" * 14 + b"]" * 14),
        raw(payload()).replace(b'"sch":"moli"', b'"sch":"moli","x":"[[[[[[[[[[[[[[[[[["'),
        raw(payload()).replace(b"perkpass.diff", "perkpass.dïff".encode()),
        b"\xef\xbb\xbf" + raw(payload()),
        b"[]", b"null", b"", b"{", raw(payload()) + b"x",
    ]
    return [signed_pp1(HEADER, b) for b in bodies] + [signed_pp1(HEADER, payload(), bare=True)]


def header_cases() -> list[str]:
    p = payload()
    headers: list[bytes | dict[str, Any]] = [
        dict(HEADER, alg="none"), dict(HEADER, alg="HS256"), dict(HEADER, alg=None), dict(HEADER, alg=["EdDSA"]),
        dict(HEADER, alg=[[["EdDSA"]]]), dict(HEADER, typ="JWT"), dict(HEADER, typ=None), dict(HEADER, kid=""),
        dict(HEADER, kid=5), dict(HEADER, kid="other"), dict(HEADER, crit=["exp"]), dict(HEADER, x5u="https://x"),
        {"alg": "EdDSA", "typ": fmt.CREDENTIAL_TYP}, {"kid": ISSUER.kid, "typ": fmt.CREDENTIAL_TYP},
        {"typ": fmt.CREDENTIAL_TYP, "kid": ISSUER.kid, "alg": "EdDSA"},
        json.dumps(HEADER, indent=2).encode(), b"[1]", b"{}", b"nul", b"\xef\xbb\xbf" + fmt.canonical_json(HEADER),
        fmt.canonical_json(HEADER)[:-1] + b',"alg":"none"}', fmt.canonical_json(HEADER)[:-1] + b',"typ":"JWT"}',
        b"\xff\xfe", "{\"alg\":\"EdDSA\",\"kid\":\"diff-key-1\",\"typ\":\"perkpass-credential+jwt\",\"é\":1}".encode(),
    ]
    return [signed_pp1(h, p) for h in headers]


def transport_cases(good: str, good_pp2: str) -> list[str]:
    digits = good[3:]
    jws = fmt.parse_qr_text(good).jws
    h, p, s = jws.split(".")
    return [
        good, "pp1" + digits, "Pp1" + digits, " \t" + good + "\r\n", "\x1c" + good, good + "\x85", "\u3000" + good,
        "\ufeff" + good, good + "\ufeff", "\u200b" + good, "PP" + digits, "PP٣" + digits, "PPé" + digits,
        "PP" + "\U0001D7D9" + digits, "PP-" + digits, "PP 1" + digits, "PP", "P", "", "PP1", "PP10", "PP1" + "0" + digits,
        "PP1+" + digits, "PP1 " + digits, "PP1" + digits + " 1", "PP1" + digits.replace("7", "٧", 1),
        "PP1" + "9" * 1497, "PP1" + "9" * 1498, "\U0001F600" * 751, "PP1" + digits + " " * (1500 - len(good)),
        "PP1" + digits + " " * (1501 - len(good)), jws, " " + jws, jws + ".", jws.replace(".", "..", 1),
        h + "." + p + "." + s + "A", h + "." + p + "." + s[:-1] + "B", h + "=." + p + "." + s, h + "." + p + ".",
        "eyJ" + "." * 2, "eyJhbGciOiJIUzI1NiJ9.e30.", h.replace("eyJ", "eyj", 1) + "." + p + "." + s,
        "PP2" + good_pp2[3:], "pp2" + good_pp2[3:], " PP2" + good_pp2[3:], "\x1cpp2" + good_pp2[3:],
        good_pp2 + "\u2028", "PP2" + good_pp2[3:] + "0", "PP2", "PP20", "PP2" + "1" * 300, "PP4" + digits,
        "PP9" + digits, "https://example.com/x", "PP1" + fmt.bytes_to_digits(b""), "PP1" + fmt.bytes_to_digits(bytes(64)),
        "PP1" + fmt.bytes_to_digits(bytes(65)), "PP1" + fmt.bytes_to_digits(b"\x03" + bytes(70)),
    ]


def pp1_deflate_cases() -> list[str]:
    """Bodies compressed in odd but valid ways, and invalid streams, with a real signature."""
    h, p = fmt.canonical_json(HEADER), fmt.canonical_json(payload())
    plain = h + b"\x00" + p
    sig = ISSUER.signing_key.sign(fmt.b64url_bytes(h) + b"." + fmt.b64url_bytes(p))
    bodies = []
    for level, strategy, dictionary in [(0, zlib.Z_DEFAULT_STRATEGY, fmt.PRESET_DICTIONARY),
                                        (1, zlib.Z_FIXED, fmt.PRESET_DICTIONARY),
                                        (9, zlib.Z_HUFFMAN_ONLY, fmt.PRESET_DICTIONARY),
                                        (9, zlib.Z_RLE, fmt.PRESET_DICTIONARY),
                                        (9, zlib.Z_DEFAULT_STRATEGY, None),
                                        (9, zlib.Z_DEFAULT_STRATEGY, pp2.PRESET_DICTIONARY)]:
        comp = (zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy, dictionary) if dictionary is not None
                else zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy))
        bodies.append(comp.compress(plain) + comp.flush())
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, fmt.PRESET_DICTIONARY)
    split = comp.compress(plain[:50]) + comp.flush(zlib.Z_FULL_FLUSH) + comp.compress(plain[50:]) + comp.flush()
    bodies += [split, bodies[0] + b"\x00", bodies[0][:-1], b"\x07" + bodies[0][1:]]
    big = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, fmt.PRESET_DICTIONARY)
    filler = b" " * (fmt.MAX_INFLATED - len(plain))
    for extra in (filler, filler + b" "):
        c = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, fmt.PRESET_DICTIONARY)
        bodies.append(c.compress(h + b"\x00" + p[:-1] + extra + b"}") + c.flush())
    bodies.append(big.compress(b"\x00" * 100_000) + big.flush())
    codes = ["PP1" + fmt.bytes_to_digits(b + sig) for b in bodies]
    return [c for c in codes if len(c) <= fmt.MAX_QR_TEXT + 100]


def pp2_cases() -> list[str]:
    ed_raw = pp2.device_key_bytes(ED.public_key())[1]
    p256_raw = pp2.device_key_bytes(P256.public_key())[1]
    x, y = int.from_bytes(p256_raw[1:33], "big"), int.from_bytes(p256_raw[33:], "big")
    codes = [pp2_code(), pp2_code(key_type=pp2.KEY_P256)]
    for plain in [b"metro\x00moli\x00GOLD\x00MOLI-METRO20", b"metro\x00moli\x00\x00MOLI-GOV-ASSIST,MOLI-METRO20",
                  b"metro\x00moli\x00\x00MOLI-METRO20,MOLI-GOV-ASSIST", b"metro\x00moli\x00\x00A,A",
                  b"metro\x00moli\x00\x00" + b",".join(b"P%d" % i for i in range(9)),
                  b"metro\x00moli\x00\x00" + b",".join(b"P%d" % i for i in range(8)), b"metro\x00moli\x00\x00",
                  b"metro\x00moli\x00\x00MOLI-METRO20,", b"metro\x00moli\x00MOLI-METRO20", b"metro\x00moli\x00\x00X\x00",
                  b"Metro\x00moli\x00\x00X", b"metro\x00m\x00\x00X", b"metro\x00moli\x00a b\x00X",
                  "metro\x00moli\x00\x00MOLI-MÉTRO".encode(), b"metro\x00moli\x00\x00" + b"X" * 33,
                  b"metro\x00moli\x00" + b"B" * 33 + b"\x00X", b"metro\x00moli\x00\x00" + b"Y" * 500]:
        codes.append(pp2_code(plain))
    codes += [pp2_code(block=b"\x03\x00"), pp2_code(block=b"\x01\x00\x00\xff\xff"), pp2_code(block=b"\xff" * 20),
              pp2_code(block=bytes(range(1, 60)))]
    small = sorted(keyprofile.SMALL_ORDER_ED25519)
    for key in [*small, (2**255 - 19).to_bytes(32, "little"), (2**255 - 18).to_bytes(32, "little"),
                bytes(31) + b"\x80", (2).to_bytes(32, "little"), ed_raw[:31] + bytes([ed_raw[31] ^ 0x80]),
                (keyprofile.ED25519_P + 5).to_bytes(32, "little")]:
        codes.append(pp2_code(device_key=key))
    p = keyprofile.P256_P
    for key in [b"\x02" + p256_raw[1:], b"\x03" + p256_raw[1:], b"\x06" + p256_raw[1:], b"\x07" + p256_raw[1:],
                bytes(65), b"\x04" + bytes(64), b"\x04" + (x + p).to_bytes(33, "big")[1:] + p256_raw[33:],
                b"\x04" + p256_raw[1:33] + (y + p).to_bytes(33, "big")[1:],
                b"\x04" + p256_raw[1:33] + (p - y).to_bytes(32, "big"),
                b"\x04" + p256_raw[1:33] + ((y + 1) % p).to_bytes(32, "big")]:
        codes.append(pp2_code(key_type=pp2.KEY_P256, device_key=key))
    for nb, na in [(T - 3600, T - 3600), (T - 3600, T - 3601), (T - 600_000, T + 4800), (T - 600_000, T + 4801),
                   (T + 4, T + 90_000), (T + 6, T + 90_000), (T - 90_000, T + 4), (T - 90_000, T - 5),
                   (T - 90_000, T - 6), (T - 86_400 - 6, T), (T - 86_400 - 5, T)]:
        codes.append(pp2_code(not_before=nb, not_after=na))
    for at in (T - 65, T - 66, T + 65, T + 66, 0, 2**32 - 1):
        codes.append(pp2_code(presented_at=at))
    codes.append(pp2_code(sign_with=derived_key(b"x", "thief")))
    return codes


def sig_component_cases() -> list[str]:
    good = fmt.digits_to_bytes(pp2_code()[3:])
    good_ec = fmt.digits_to_bytes(pp2_code(key_type=pp2.KEY_P256)[3:])
    s = int.from_bytes(good[-32:], "little")
    r_ec, s_ec = int.from_bytes(good_ec[-64:-32], "big"), int.from_bytes(good_ec[-32:], "big")
    n = keyprofile.P256_N
    variants = [good[:-32] + (s + keyprofile.ED25519_L).to_bytes(32, "little"),
                good[:-64] + (2**255 - 1).to_bytes(32, "little") + good[-32:],
                good[:-64] + bytes(64)]
    for r, s2 in [(0, s_ec), (r_ec, 0), (n, s_ec), (r_ec, n), (r_ec + n, s_ec), (r_ec, n - s_ec), (r_ec, s_ec + n)]:
        if r < 2**256 and s2 < 2**256:
            variants.append(good_ec[:-64] + r.to_bytes(32, "big") + s2.to_bytes(32, "big"))
    return ["PP2" + fmt.bytes_to_digits(v) for v in variants]


def signed_list(payload_obj: Any, *, header: dict[str, Any] | None = None, key: Any = None,
                raw_payload: bytes | None = None) -> str:
    """A trust list JWS over any payload, signed by the root (or ``key``)."""
    h = fmt.canonical_json(header if header is not None else {"alg": "EdDSA", "kid": "root", "typ": fmt.TRUST_LIST_TYP})
    p = raw_payload if raw_payload is not None else fmt.canonical_json(payload_obj)
    signing_input = fmt.b64url_bytes(h) + b"." + fmt.b64url_bytes(p)
    return (signing_input + b"." + fmt.b64url_bytes((key or ISSUER.root_key).sign(signing_input))).decode()


def list_payload(**changes: Any) -> dict[str, Any]:
    jwk = TrustedKey(ISSUER.kid, ISSUER.signing_key.public_key(), *ISSUER.key_window).to_jwk()
    p = {"iss": ISSUER.issuer, "seq": 5, "iat": T - 60, "next_update": T + 3600, "exp": T + 86_400, "keys": [jwk],
         "perks": {}}
    p.update(changes)
    return {k: v for k, v in p.items() if v is not DROP}


def trust_list_cases() -> list[dict[str, Any]]:
    """Lists that reach every loading rule, each signed by the root so that only the rule decides."""
    jwk = list_payload()["keys"][0]
    ids = sorted(b64url_encode(bytes([i]) * 12) for i in range(3))
    good = signed_list(list_payload())
    lists = [
        good, signed_list(list_payload(revoked="".join(ids))), signed_list(list_payload(revoked=ids)),
        signed_list(list_payload(revoked="".join(reversed(ids)))), signed_list(list_payload(revoked=ids[0] * 2)),
        signed_list(list_payload(revoked=ids[0][:15])), signed_list(list_payload(revoked=ids[0][:15] + "+")),
        signed_list(list_payload(revoked="")), signed_list(list_payload(revoked=[])), signed_list(list_payload(revoked=None)),
        signed_list(list_payload(revoked=5)), signed_list(list_payload(revoked=[ids[0] + "A"])),
        signed_list(list_payload(keys=[jwk, jwk])), signed_list(list_payload(keys=[dict(jwk, kid="")])),
        signed_list(list_payload(keys=[{k: v for k, v in jwk.items() if k != "kid"}])),
        signed_list(list_payload(keys=[dict(jwk, nbf=jwk["not_after"] + 1)])),
        signed_list(list_payload(keys=[dict(jwk, nbf=float(jwk["nbf"]))])),
        signed_list(list_payload(keys=[dict(jwk, nbf=True)])),
        signed_list(list_payload(keys=[dict(jwk, revoked_at=None)])), signed_list(list_payload(keys=[dict(jwk, revoked_at=T)])),
        signed_list(list_payload(keys=[dict(jwk, revoked_at=1.5)])), signed_list(list_payload(keys=[dict(jwk, d="AAAA")])),
        signed_list(list_payload(keys=[dict(jwk, alg="RS256", kty="RSA")])), signed_list(list_payload(keys=[dict(jwk, alg=None)])),
        signed_list(list_payload(keys=[dict(jwk, kty="EC")])), signed_list(list_payload(keys=[dict(jwk, x=jwk["x"][:-1])])),
        signed_list(list_payload(keys=[dict(jwk, x=jwk["x"][:-1] + "B")])), signed_list(list_payload(keys=[dict(jwk, x=None)])),
        signed_list(list_payload(keys=[5])), signed_list(list_payload(keys={})), signed_list(list_payload(keys=DROP)),
        signed_list(list_payload(keys=[])), signed_list(list_payload(perks=None)), signed_list(list_payload(perks=[])),
        signed_list(list_payload(perks=DROP)), signed_list(list_payload(perks={"X": [float("nan")]})),
        signed_list(list_payload(iss="")), signed_list(list_payload(iss="i" * 65)), signed_list(list_payload(iss="\U0001F600" * 64)),
        signed_list(list_payload(iss=None)), signed_list(list_payload(seq=5.0)), signed_list(list_payload(seq=True)),
        signed_list(list_payload(seq=-1)), signed_list(list_payload(iat=T + 3601)), signed_list(list_payload(next_update=T + 86_401)),
        signed_list(list_payload(exp=T - 30, next_update=T - 40, iat=T - 50)), signed_list(list_payload(extra={"a": [[[[[[[[1]]]]]]]]})),
        signed_list(list_payload(extra={"a": [[[[[[1]]]]]]})), signed_list(None, raw_payload=b"[1]"),
        signed_list(None, raw_payload=b"{"), signed_list(None, raw_payload=fmt.canonical_json(list_payload())[:-1] + b',"seq":6}'),
        signed_list(list_payload(), header={"alg": "EdDSA", "typ": fmt.TRUST_LIST_TYP}),
        signed_list(list_payload(), header={"alg": "EdDSA", "kid": "r", "typ": "JWT"}),
        signed_list(list_payload(), header={"alg": "none", "kid": "r", "typ": fmt.TRUST_LIST_TYP}),
        signed_list(list_payload(), header={"alg": "EdDSA", "kid": "r", "typ": fmt.TRUST_LIST_TYP, "crit": []}),
        signed_list(list_payload(), key=derived_key(b"x", "other-root")), signed_list(list_payload(), key=ISSUER.signing_key),
        " \n" + good + "\r\n", good + ".", good.replace(".", "..", 1), good[:-1] + "B", good[:-2],
        good.split(".")[0] + "=." + good.split(".", 1)[1], "é" + good, "", "not a jws", "x" * 1_000_001,
        signed_list(list_payload(roots=None)), signed_list(list_payload(roots=[])), signed_list(list_payload(roots="x")),
        signed_list(list_payload(roots=[5])), signed_list(list_payload(roots=["a.b.c"])),
    ]
    new_root = derived_key(b"js-differential", "root-2")
    third = derived_key(b"js-differential", "root-3")
    st2 = build_root_statement(old_root=ISSUER.root_key, new_root=new_root.public_key(), issuer=ISSUER.issuer, version=2, now=T - 100)
    st3 = build_root_statement(old_root=new_root, new_root=third.public_key(), issuer=ISSUER.issuer, version=3, now=T - 90)
    forged3 = build_root_statement(old_root=derived_key(b"x", "y"), new_root=third.public_key(), issuer=ISSUER.issuer,
                                   version=3, now=T - 90)
    other_iss = build_root_statement(old_root=new_root, new_root=third.public_key(), issuer="perkpass.other", version=3, now=T - 90)
    lists += [signed_list(list_payload(roots=[st2]), key=new_root), signed_list(list_payload(roots=[st2, st3]), key=third),
              signed_list(list_payload(roots=[st2, st3]), key=new_root), signed_list(list_payload(roots=[st2, forged3]), key=third),
              signed_list(list_payload(roots=[st2, other_iss]), key=third), signed_list(list_payload(roots=[st3]), key=third),
              signed_list(list_payload(roots=[st2] * 65), key=new_root), signed_list(list_payload(roots=[st3, st2]), key=new_root),
              signed_list(list_payload(roots=[st2], iss="perkpass.other"), key=new_root)]
    label = {"en": "Metro", "zh-CN": "地铁"}
    metro = {"label": label, "grace_after_next_update": 3600, "reuse_interval": 0}
    for member in [{"metro": metro}, {"metro": dict(metro, perks={"MOLI-METRO20": {"reuse_interval": 86_400}})},
                   {"metro": dict(metro, perks={})}, None, {}, [], {"Metro": metro}, {"metro": {}},
                   {"metro": dict(metro, extra=1)}, {"metro": {k: v for k, v in metro.items() if k != "label"}},
                   {"metro": dict(metro, grace_after_next_update=31 * 86_400)},
                   {"metro": dict(metro, grace_after_next_update=31 * 86_400 + 1)},
                   {"metro": dict(metro, grace_after_next_update=-1)}, {"metro": dict(metro, reuse_interval=1.0)},
                   {"metro": dict(metro, reuse_interval=True)}, {"metro": dict(metro, reuse_interval=31 * 86_400 + 1)},
                   {"metro": dict(metro, label={"en": "Metro"})}, {"metro": dict(metro, label=dict(label, fr="Métro"))},
                   {"metro": dict(metro, label=dict(label, en=""))}, {"metro": dict(metro, label=dict(label, en="é" * 64))},
                   {"metro": dict(metro, label=dict(label, en="x" * 65))}, {"metro": dict(metro, label=dict(label, en=5))},
                   {"metro": dict(metro, perks=None)}, {"metro": dict(metro, perks={"M": {"reuse_interval": 1}})},
                   {"metro": dict(metro, perks={"1X": {"reuse_interval": 1}})},
                   {"metro": dict(metro, perks={"MX": {"reuse_interval": 1, "x": 2}})},
                   {"metro": dict(metro, perks={"MX": {}})}, {"metro": dict(metro, perks={"MX": 5})},
                   {f"v{i:03d}": metro for i in range(256)}, {f"v{i:03d}": metro for i in range(257)}]:
        lists.append(signed_list(list_payload(venue_types=member)))
    # PP3's bbs_keys member: clients/js checks its structure; it does not implement PP3, so it does not check that
    # pk is a G2 subgroup point (a root-signed list with 96 bytes that are not one: refused in Python, not in JS)
    bbs = ISSUER.bbs_keys()[0].to_member()
    for member in [[bbs], [], [bbs] * 2, [dict(bbs, kid="other")] * 17, None, {}, [5], [dict(bbs, extra=1)],
                   [{k: v for k, v in bbs.items() if k != "nbf"}], [dict(bbs, kid="")], [dict(bbs, kid="k" * 65)],
                   [dict(bbs, kid="é" * 64)], [dict(bbs, nbf=bbs["not_after"] + 1)], [dict(bbs, nbf=1.0)],
                   [dict(bbs, revoked_at=None)], [dict(bbs, revoked_at=T)], [dict(bbs, revoked_at="x")],
                   [dict(bbs, pk=bbs["pk"][:-1])], [dict(bbs, pk=bbs["pk"] + "A")], [dict(bbs, pk=None)],
                   [dict(bbs, pk=b64url_encode(bytes(95)))]]:
        lists.append(signed_list(list_payload(bbs_keys=member)))
    cases: list[dict[str, Any]] = [{"loads": [tl], "now": T} for tl in lists]
    # sequences: rollback, the same sequence with other content, another issuer, expired at load, retired root
    rotated = signed_list(list_payload(roots=[st2], seq=7), key=new_root)
    cases += [
        {"loads": [good, signed_list(list_payload(seq=4))], "now": T},
        {"loads": [good, signed_list(list_payload(perks={"A": 1}))], "now": T},
        {"loads": [good, good, signed_list(list_payload(seq=6))], "now": T},
        {"loads": [good, signed_list(list_payload(seq=6, iss="perkpass.other"))], "now": T},
        {"loads": [good], "now": T + 86_400}, {"loads": [good], "now": T + 86_399},
        {"loads": [rotated, signed_list(list_payload(seq=8))], "now": T},
        {"loads": [rotated, signed_list(list_payload(seq=8, roots=[st2]), key=new_root)], "now": T},
        {"loads": [signed_list(list_payload(seq=9)), rotated], "now": T},
    ]
    return cases


def python_loads(case: dict[str, Any]) -> list[str]:
    store = TrustStore(ISSUER.root_public_jwk)
    got = []
    for tl in case["loads"]:
        try:
            store.load_bytes(tl, now=case["now"])
            got.append("OK")
        except TrustListError as exc:
            got.append(type(exc).__name__)
    return got


def python_answers(cases: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    stores: dict[str, TrustStore] = {}  # verifying a code never changes a store
    for c in cases:
        if "loads" in c:
            out.append(python_loads(c))
            continue
        tl = c["trust_list"]
        if tl not in stores:
            stores[tl] = TrustStore(ISSUER.root_public_jwk)
            stores[tl].load_bytes(tl, now=json.loads(fmt.b64url_decode(tl.split(".")[1]))["iat"])
        store = stores[tl]
        v = Verifier(store, c["audience"], leeway=c.get("leeway", 5))
        for p in c.get("prior", []):
            v.verify(p["qr_text"], perk=p["perk"], now=p["now"])
        decisions = [v.verify(c["qr_text"], perk=c.get("perk"), now=c["now"]) for _ in range(c.get("repeat", 1))]
        fields = {k: val for k, val in decisions[-1].to_dict().items() if k in FIELDS}
        out.append([d.status.value for d in decisions] + [fields])
    return out


FIELDS = ("perks", "pseudonym", "jti", "issuer", "audience", "scheme", "band", "issued_at", "expires_at", "kid")


def js_answers(cases: list[dict[str, Any]]) -> list[list[str]]:
    node = shutil.which("node")
    assert node, "Node.js >= 20 is required to test clients/js (the JavaScript verifier): install nodejs"
    r = subprocess.run([node, str(ROOT / "clients" / "js" / "tools" / "decide.mjs")], capture_output=True,
                       text=True, timeout=600,
                       input=json.dumps({"root_public_key": ISSUER.root_public_jwk, "cases": cases, "fields": True}))
    assert r.returncode == 0, r.stderr[-3000:]
    answers: list[list[str]] = json.loads(r.stdout)
    return answers


def all_cases() -> list[dict[str, Any]]:
    rng = random.Random(18_4)
    good = ISSUER.credential("metro", ["MOLI-METRO20"], now=T, jti="diffjti000000009").qr_text
    good_pp2 = pp2_code()
    texts = (claims_cases() + header_cases() + transport_cases(good, good_pp2) + pp1_deflate_cases() + pp2_cases()
             + sig_component_cases() + mutations(good, rng, 300) + mutations(good_pp2, rng, 300)
             + mutations(pp2_code(key_type=pp2.KEY_P256), rng, 150))
    cases: list[dict[str, Any]] = []
    for text in texts:
        for now, perk, audience in ((T + 10, None, "metro"), (T + 10, "MOLI-METRO20", "metro")):
            cases.append({"trust_list": TRUST_LIST, "audience": audience, "perk": perk, "now": now,
                          "qr_text": text, "repeat": 2})
    # clock boundaries: PP1 lifetime 90 s and PP2 window 60 s, with leeways 0 and 5 and 120
    for leeway in (0, 5, 120):
        for now in (T - leeway - 1, T - leeway, T - leeway + 1, T + 90 + leeway - 1, T + 90 + leeway,
                    T + 60 + leeway, T + 60 + leeway + 1, T - 60 - leeway - 1):
            for text in (good, good_pp2):
                cases.append({"trust_list": TRUST_LIST, "audience": "metro", "now": now, "qr_text": text,
                              "leeway": leeway})
    # trust lists: a compromised key, an ignored key, withdrawn certificates, an expired list
    key = ISSUER.trusted_keys()[0]
    for tl in (ISSUER.trust_list(T - 60, sequence=4, keys=[TrustedKey(key.kid, key.public_key, *ISSUER.key_window,
                                                                       revoked_at=T + 5)]),
               ISSUER.trust_list(T - 60, sequence=4, keys=[TrustedKey(key.kid, key.public_key, *ISSUER.key_window,
                                                                       revoked_at=T - 3600 + 1)]),
               ISSUER.trust_list(T - 60, sequence=4, revoked=[b64url_encode(b"diff-cert-01")]),
               ISSUER.trust_list(T - 60, sequence=4, revoked=[b64url_encode(b"diff-cert-02")]),
               ISSUER.trust_list(T - 7 * 86_400 + 5, sequence=4)):
        for text in (good, good_pp2, pp2_code(key_type=pp2.KEY_P256)):
            for now in (T + 4, T + 10):
                cases.append({"trust_list": tl, "audience": "metro", "now": now, "qr_text": text})
    # venue-type policies: grace after next_update, a type the list does not name, usage rules (PP1 and PP2)
    label = {"en": "x", "zh-CN": "x"}
    policies = ISSUER.trust_list(T - 3600, sequence=5, next_update_in=1800, venue_types={
        "metro": {"label": label, "grace_after_next_update": 600, "reuse_interval": 300,
                  "perks": {"MOLI-METRO20": {"reuse_interval": 86_400}}},
        "library": {"label": label, "grace_after_next_update": 0, "reuse_interval": 0}})
    other_types = ISSUER.trust_list(T - 3600, sequence=5, next_update_in=1800, venue_types={
        "museum": {"label": label, "grace_after_next_update": 0, "reuse_interval": 0}})
    for tl in (policies, other_types):
        for now in (T - 1801, T - 1800, T - 1201, T - 1200, T + 10):  # next_update T - 1800, metro's grace 600 s
            for text in (ISSUER.credential("metro", ["MOLI-METRO20"], now=now - 5, jti="diffjti000000066").qr_text,
                         pp2_code(presented_at=now - 5)):
                for audience in ("metro", "library"):
                    cases.append({"trust_list": tl, "audience": audience, "now": now, "qr_text": text, "repeat": 2})
        for perk, prior_perk, now in [(p, q, t) for t in (T - 1300, T - 2000) for p, q in
                                      (("MOLI-METRO20", "MOLI-METRO20"), (None, None), (None, "MOLI-METRO20"))]:
            text = pp2_code(presented_at=now)
            cases.append({"trust_list": tl, "audience": "metro", "now": now + 5, "qr_text": text, "perk": perk,
                          "prior": [{"qr_text": pp2_code(presented_at=now - 400), "perk": prior_perk, "now": now - 395}]})
            pp1_now = ISSUER.credential("metro", ["MOLI-METRO20"], now=now, jti="diffjti000000077").qr_text
            cases.append({"trust_list": tl, "audience": "metro", "now": now + 5, "qr_text": pp1_now, "perk": perk,
                          "prior": [{"qr_text": ISSUER.credential("metro", ["MOLI-METRO20"], now=now - 400,
                                                                  jti="diffjti000000078").qr_text,
                                     "perk": prior_perk, "now": now - 395}]})
    # one grant per certificate and perk: another slot, another perk, no perk after a perk, after the interval
    later = pp2_code(presented_at=T + 40)
    for perk, prior_perk, now in (("MOLI-METRO20", "MOLI-METRO20", T + 40), (None, "MOLI-METRO20", T + 40),
                                  ("MOLI-METRO20", None, T + 40), (None, None, T + 139), (None, None, T + 140),
                                  (None, None, T + 141)):
        cases.append({"trust_list": TRUST_LIST, "audience": "metro", "now": now, "qr_text": later, "perk": perk,
                      "prior": [{"qr_text": good_pp2, "perk": prior_perk, "now": T + 10}]})
    return cases + trust_list_cases()


@pytest.fixture(scope="module")
def answers() -> tuple[list[dict[str, Any]], list[list[str]], list[list[str]]]:
    cases = all_cases()
    return cases, python_answers(cases), js_answers(cases)


def test_javascript_and_python_verifiers_agree_on_every_hostile_input(answers):
    cases, py, js = answers
    assert len(py) == len(js) == len(cases)
    disagreements = [(c.get("qr_text", "")[:80] or c["loads"][-1][-80:], c.get("now"), c.get("perk"), c.get("leeway", 5), p, j)
                     for c, p, j in zip(cases, py, js, strict=True) if p != j]
    assert not disagreements, f"{len(disagreements)} of {len(cases)} differ, e.g. {disagreements[:5]}"


def test_the_hostile_inputs_reach_every_status(answers):
    """The corpus is worth something only if it exercises every rule, not only MALFORMED."""
    cases, py, _ = answers
    seen = {s for c, a in zip(cases, py, strict=True) if "loads" not in c for s in a[:-1]}
    loads = {s for c, a in zip(cases, py, strict=True) if "loads" in c for s in a}
    assert loads == {"OK", "TrustListError", "TrustListSignatureError", "TrustListRollbackError", "TrustListExpiredError",
                     "TrustListTooLargeError"}
    assert seen == {"GRANTED", "NOT_ENTITLED", "EXPIRED", "NOT_YET_VALID", "REPLAYED", "BAD_SIGNATURE",
                    "UNKNOWN_KEY", "WRONG_AUDIENCE", "WRONG_ISSUER", "MALFORMED", "UNSUPPORTED_VERSION",
                    "TRUST_LIST_EXPIRED", "REVOKED", "CLOCK_SKEW"}


def test_json_depth_bound_agrees_and_is_linear():
    """The depth bound on untrusted JSON, read before any signature (a trust list's payload): the JavaScript
    one-pass scan answers as the Python SDK's (also one pass now), on random bytes of quotes, backslashes and
    brackets; and it takes linear time on a hostile 1 MB text (unclosed strings full of escaped quotes)."""
    import base64

    rng = random.Random(7)
    cases = []
    for _ in range(3000):
        text = bytes(rng.choice(b'"\\[]{}a') for _ in range(rng.randrange(1, 40)))
        cases.append((text, rng.randrange(0, 4)))
    expected = [not fmt.json_depth_exceeds(text, limit) for text, limit in cases]
    hostile = b'"' + b'\\"' * 400_000 + b"[" * 20  # the brackets after the unclosed string count
    assert 0.2 < sum(expected) / len(expected) < 0.8
    node = shutil.which("node")
    assert node, "Node.js >= 20 is required to test clients/js (the JavaScript verifier): install nodejs"
    payload = {"depth_cases": [[base64.b64encode(t).decode(), m] for t, m in cases]
               + [[base64.b64encode(hostile).decode(), 8]]}
    started = time.monotonic()
    r = subprocess.run([node, str(ROOT / "clients" / "js" / "tools" / "decide.mjs")], capture_output=True, text=True,
                       timeout=120, input=json.dumps(payload))
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout)
    assert got[:-1] == expected
    assert got[-1] is False
    assert time.monotonic() - started < 60  # quadratic would be hours
