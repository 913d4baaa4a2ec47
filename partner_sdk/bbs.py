"""BBS signatures and proofs, ciphersuite BLS12-381-SHA-256 (IRTF CFRG draft "The BBS Signature Scheme").

The protocol steps of the draft (KeyGen, SkToPk, Sign, Verify, ProofGen, ProofVerify and the subroutines they
name) written over a maintained pairing library, `py-arkworks-bls12381` (arkworks): every point operation,
the pairing and `hash_to_curve` (RFC 9380, BLS12381G1_XMD:SHA-256_SSWU_RO_) come from it; this module only
hashes, orders and serialises as the draft says. Scalars are Python ints mod r, turned into the library's
`Scalar` at the point of multiplication.

Conformance: tests/sdk/test_bbs.py runs every signature and proof fixture the draft publishes
(tests/sdk/fixtures/bbs/), valid and invalid, and the proof fixtures' traces with the draft's mocked
random scalars, so an encoding mistake cannot hide behind a round trip.

Every decoder fails closed: a point that is not canonical, the identity or outside the subgroup, a scalar
0 or >= r, a wrong length: `BBSError` (never a library exception). `proof_verify` and `verify` return
False for anything invalid and never raise.

The pseudonym extension (CFRG draft "BBS per Verifier Linkability", one pseudonym secret, the last signed
message) is at the end: CoreProofGenWithNym / CoreProofVerifyWithNym with PseudonymProofInit and its
verification twin, over the same subroutines. Its Commit / BlindSign half (the issuer never sees the
secret) is not here; see docs/design/pp3.md for what that means.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from functools import lru_cache

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

# The order of G1 and G2 (BLS12-381).
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
CIPHERSUITE_ID = b"BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_"
API_ID = CIPHERSUITE_ID + b"H2G_HM2S_"
OCTET_SCALAR_LENGTH = 32
OCTET_POINT_LENGTH = 48
G2_POINT_LENGTH = 96
EXPAND_LEN = 48
MAX_MESSAGES = 64  # far above what Perkpass signs; bounds the generators a hostile proof length could ask for

RandomScalars = Callable[[int], list[int]]


class BBSError(ValueError):
    """Malformed input to a BBS operation: a key, signature or proof that does not decode, a bad index."""


# --- RFC 9380 expand_message_xmd (SHA-256): hashing only, no curve arithmetic ---------------------------

def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    b_in_bytes, s_in_bytes = 32, 64
    ell = -(-len_in_bytes // b_in_bytes)
    if ell > 255 or len_in_bytes > 65535 or len(dst) > 255:
        raise BBSError("expand_message_xmd: output or DST too long")
    dst_prime = dst + bytes([len(dst)])
    msg_prime = bytes(s_in_bytes) + msg + len_in_bytes.to_bytes(2, "big") + b"\x00" + dst_prime
    b0 = hashlib.sha256(msg_prime).digest()
    b_vals = [hashlib.sha256(b0 + b"\x01" + dst_prime).digest()]
    b0_int = int.from_bytes(b0, "big")
    for i in range(2, ell + 1):
        prev = (b0_int ^ int.from_bytes(b_vals[-1], "big")).to_bytes(32, "big")
        b_vals.append(hashlib.sha256(prev + bytes([i]) + dst_prime).digest())
    return b"".join(b_vals)[:len_in_bytes]


def hash_to_scalar(msg: bytes, dst: bytes) -> int:
    return int.from_bytes(expand_message_xmd(msg, dst, EXPAND_LEN), "big") % R


def hash_to_curve_g1(msg: bytes, dst: bytes) -> G1Point:
    return G1Point.hash_to_curve(msg, dst)


# --- encoding -------------------------------------------------------------------------------------------

def i2osp(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def _scalar(value: int) -> Scalar:
    return Scalar(value % R)


def point_to_octets_g1(point: G1Point) -> bytes:
    return point.to_compressed_bytes()


def octets_to_point_g1(data: bytes) -> G1Point:
    """A G1 point in canonical compressed form, on the curve, in the subgroup and not the identity."""
    if len(data) != OCTET_POINT_LENGTH:
        raise BBSError("a G1 point is 48 bytes")
    try:
        point = G1Point.from_compressed_bytes(data)
    except ValueError as exc:
        raise BBSError("not a G1 point") from exc
    # The library's checked decoder refuses points outside the subgroup (tests/sdk/test_bbs.py pins that);
    # the round trip refuses a second encoding of one point (e.g. an x >= p).
    if point.to_compressed_bytes() != data or point == G1Point.identity():
        raise BBSError("not a canonical G1 subgroup point other than the identity")
    return point


@lru_cache(maxsize=32)
def octets_to_pubkey(pk: bytes) -> G2Point:
    """Checked once per key (the draft allows caching a key's validation): a gate sees one or two keys."""
    if len(pk) != G2_POINT_LENGTH:
        raise BBSError("a public key is 96 bytes")
    try:
        w = G2Point.from_compressed_bytes(pk)
    except ValueError as exc:
        raise BBSError("not a G2 point") from exc
    if w.to_compressed_bytes() != pk or w == G2Point.identity() or not w.is_in_subgroup():
        raise BBSError("not a canonical G2 subgroup point other than the identity")
    return w


def octets_to_scalar(data: bytes) -> int:
    """A scalar in 1..r-1, as the draft's signature and proof decoders require."""
    value = int.from_bytes(data, "big")
    if len(data) != OCTET_SCALAR_LENGTH or value == 0 or value >= R:
        raise BBSError("a scalar is 32 bytes, in 1..r-1")
    return value


def serialize(items: Sequence[G1Point | G2Point | int | tuple[str, int]]) -> bytes:
    """The draft's serialize: points compressed, scalars 32 bytes; an integer (not a scalar) is ("int", n)."""
    out = bytearray()
    for item in items:
        if isinstance(item, G1Point | G2Point):
            out += item.to_compressed_bytes()
        elif isinstance(item, tuple):
            out += i2osp(item[1], 8)
        else:
            out += i2osp(item % R, OCTET_SCALAR_LENGTH)
    return bytes(out)


def _int(n: int) -> tuple[str, int]:
    return ("int", n)


def msm(points: Sequence[G1Point], scalars: Sequence[int]) -> G1Point:
    if not points:
        return G1Point.identity()
    return G1Point.multiexp_unchecked(list(points), [_scalar(s) for s in scalars])


# --- generators and messages ----------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _generators(count: int, api_id: bytes) -> tuple[G1Point, ...]:
    seed_dst = api_id + b"SIG_GENERATOR_SEED_"
    generator_dst = api_id + b"SIG_GENERATOR_DST_"
    v = expand_message_xmd(api_id + b"MESSAGE_GENERATOR_SEED", seed_dst, EXPAND_LEN)
    out = []
    for i in range(1, count + 1):
        v = expand_message_xmd(v + i2osp(i, 8), seed_dst, EXPAND_LEN)
        out.append(hash_to_curve_g1(v, generator_dst))
    return tuple(out)


def create_generators(count: int, api_id: bytes = API_ID) -> list[G1Point]:
    # Generators are constants: compute the largest set once and slice (the draft allows caching).
    if count > MAX_MESSAGES + 2:
        raise BBSError("too many messages")
    return list(_generators(MAX_MESSAGES + 2, api_id)[:count])


@lru_cache(maxsize=1)
def p1() -> G1Point:
    """The ciphersuite's fixed point P1 (create_generators with the draft's BP seed and no api_id)."""
    api = CIPHERSUITE_ID + b"H2G_HM2S_"
    seed_dst = api + b"SIG_GENERATOR_SEED_"
    v = expand_message_xmd(api + b"BP_MESSAGE_GENERATOR_SEED", seed_dst, EXPAND_LEN)
    v = expand_message_xmd(v + i2osp(1, 8), seed_dst, EXPAND_LEN)
    return hash_to_curve_g1(v, api + b"SIG_GENERATOR_DST_")


def messages_to_scalars(messages: Sequence[bytes], api_id: bytes = API_ID) -> list[int]:
    dst = api_id + b"MAP_MSG_TO_SCALAR_AS_HASH_"
    return [hash_to_scalar(m, dst) for m in messages]


def calculate_domain(pk: bytes, q1: G1Point, h_points: Sequence[G1Point], header: bytes, api_id: bytes) -> int:
    # the same few (key, header, generators) all day at a gate: cached, as the draft allows for constants
    return _domain(pk, q1, tuple(h_points), header, api_id)


@lru_cache(maxsize=64)
def _domain(pk: bytes, q1: G1Point, h_points: tuple[G1Point, ...], header: bytes, api_id: bytes) -> int:
    dom_octs = serialize([_int(len(h_points)), q1, *h_points]) + api_id
    dom_input = pk + dom_octs + i2osp(len(header), 8) + header
    return hash_to_scalar(dom_input, api_id + b"H2S_")


def calculate_random_scalars(count: int) -> list[int]:
    return [int.from_bytes(secrets.token_bytes(EXPAND_LEN), "big") % R for _ in range(count)]


def seeded_random_scalars(seed: bytes, dst: bytes, count: int) -> list[int]:
    """The draft's mocked random scalars, for its proof fixtures only (never for a real proof)."""
    v = expand_message_xmd(seed, dst, EXPAND_LEN * count)
    return [int.from_bytes(v[i * EXPAND_LEN:(i + 1) * EXPAND_LEN], "big") % R for i in range(count)]


# --- keys -----------------------------------------------------------------------------------------------

def keygen(key_material: bytes, key_info: bytes = b"", key_dst: bytes | None = None) -> int:
    if len(key_material) < 32 or len(key_info) > 65535:
        raise BBSError("key material must be at least 32 bytes")
    dst = CIPHERSUITE_ID + b"KEYGEN_DST_" if key_dst is None else key_dst
    sk = hash_to_scalar(key_material + i2osp(len(key_info), 2) + key_info, dst)
    if sk == 0:
        raise BBSError("key material gives a zero key")
    return sk


def sk_to_pk(sk: int) -> bytes:
    return (G2Point() * _scalar(sk)).to_compressed_bytes()


# --- signatures -----------------------------------------------------------------------------------------

def octets_to_signature(data: bytes) -> tuple[G1Point, int]:
    if len(data) != OCTET_POINT_LENGTH + OCTET_SCALAR_LENGTH:
        raise BBSError("a signature is 80 bytes")
    return octets_to_point_g1(data[:OCTET_POINT_LENGTH]), octets_to_scalar(data[OCTET_POINT_LENGTH:])


def core_sign(sk: int, pk: bytes, generators: Sequence[G1Point], header: bytes, messages: Sequence[int],
              api_id: bytes = API_ID) -> bytes:
    if len(generators) != len(messages) + 1:
        raise BBSError("one generator per message plus Q_1")
    q1, hs = generators[0], list(generators[1:])
    domain = calculate_domain(pk, q1, hs, header, api_id)
    e = hash_to_scalar(serialize([sk, *messages, domain]), api_id + b"H2S_")
    b = p1() + msm([q1, *hs], [domain, *messages])
    if (sk + e) % R == 0:
        raise BBSError("degenerate signature")
    a = b * _scalar(pow(sk + e, -1, R))
    return serialize([a, e])


def core_verify(pk: bytes, signature: bytes, generators: Sequence[G1Point], header: bytes,
                messages: Sequence[int], api_id: bytes = API_ID) -> bool:
    try:
        a, e = octets_to_signature(signature)
        w = octets_to_pubkey(pk)
    except BBSError:
        return False
    if len(generators) != len(messages) + 1:
        return False
    q1, hs = generators[0], list(generators[1:])
    domain = calculate_domain(pk, q1, hs, header, api_id)
    b = p1() + msm([q1, *hs], [domain, *messages])
    # h(A, W) * h(A * e - B, BP2) == 1
    return bool(GT.pairing_check([a, a * _scalar(e) - b], [w, G2Point()]))


def sign(sk: int, pk: bytes, header: bytes, messages: Sequence[bytes]) -> bytes:
    scalars = messages_to_scalars(messages)
    return core_sign(sk, pk, create_generators(len(messages) + 1), header, scalars)


def verify(pk: bytes, signature: bytes, header: bytes, messages: Sequence[bytes]) -> bool:
    if len(messages) > MAX_MESSAGES:
        return False
    scalars = messages_to_scalars(messages)
    return core_verify(pk, signature, create_generators(len(messages) + 1), header, scalars)


# --- proofs ---------------------------------------------------------------------------------------------

InitRes = tuple[G1Point, G1Point, G1Point, G1Point, G1Point, int]


def _check_indexes(disclosed: Sequence[int], length: int) -> list[int]:
    if list(disclosed) != sorted(set(disclosed)) or any(i < 0 or i >= length for i in disclosed):
        raise BBSError("disclosed indexes must be distinct, ascending and within the messages")
    return [j for j in range(length) if j not in set(disclosed)]


def proof_init(pk: bytes, signature: tuple[G1Point, int], generators: Sequence[G1Point],
               random_scalars: Sequence[int], header: bytes, messages: Sequence[int],
               undisclosed: Sequence[int], api_id: bytes) -> InitRes:
    a, e = signature
    if len(random_scalars) != len(undisclosed) + 5 or len(generators) != len(messages) + 1:
        raise BBSError("proof initialisation: wrong number of scalars or generators")
    r1, r2, e_t, r1_t, r3_t, *m_t = random_scalars
    q1, hs = generators[0], list(generators[1:])
    domain = calculate_domain(pk, q1, hs, header, api_id)
    b = p1() + msm([q1, *hs], [domain, *messages])
    d = b * _scalar(r2)
    abar = a * _scalar(r1 * r2)
    bbar = d * _scalar(r1) - abar * _scalar(e)
    t1 = msm([abar, d], [e_t, r1_t])
    t2 = msm([d, *[hs[j] for j in undisclosed]], [r3_t, *m_t])
    return abar, bbar, d, t1, t2, domain


def proof_challenge(init_res: InitRes, disclosed_messages: Sequence[int], disclosed: Sequence[int],
                    ph: bytes, api_id: bytes, nym: tuple[G1Point, G1Point, bytes] | None = None) -> int:
    """ProofChallengeCalculate, or with `nym` = (pseudonym, Ut, context_id) the pseudonym draft's
    ProofWithPseudonymChallengeCalculate (pseudonym and Ut before the domain, the context id after ph)."""
    abar, bbar, d, t1, t2, domain = init_res
    c_arr: list[G1Point | G2Point | int | tuple[str, int]] = [_int(len(disclosed))]
    for i, m in zip(disclosed, disclosed_messages, strict=True):
        c_arr += [_int(i), m]
    c_arr += [abar, bbar, d, t1, t2]
    if nym is not None:
        c_arr += [nym[0], nym[1]]
    c_octs = serialize([*c_arr, domain]) + i2osp(len(ph), 8) + ph
    if nym is not None:
        c_octs += i2osp(len(nym[2]), 8) + nym[2]
    return hash_to_scalar(c_octs, api_id + b"H2S_")


def proof_finalize(init_res: InitRes, challenge: int, e: int, random_scalars: Sequence[int],
                   undisclosed_messages: Sequence[int]) -> bytes:
    r1, r2, e_t, r1_t, r3_t, *m_t = random_scalars
    r3 = pow(r2, -1, R)
    e_hat = (e_t + e * challenge) % R
    r1_hat = (r1_t - r1 * challenge) % R
    r3_hat = (r3_t - r3 * challenge) % R
    m_hat = [(mt + m * challenge) % R for mt, m in zip(m_t, undisclosed_messages, strict=True)]
    abar, bbar, d = init_res[0], init_res[1], init_res[2]
    return serialize([abar, bbar, d, e_hat, r1_hat, r3_hat, *m_hat, challenge])


def core_proof_gen(pk: bytes, signature: bytes, generators: Sequence[G1Point], header: bytes, ph: bytes,
                   messages: Sequence[int], disclosed: Sequence[int], api_id: bytes = API_ID,
                   random_scalars: RandomScalars = calculate_random_scalars) -> bytes:
    sig = octets_to_signature(signature)
    undisclosed = _check_indexes(disclosed, len(messages))
    scalars = random_scalars(5 + len(undisclosed))
    init_res = proof_init(pk, sig, generators, scalars, header, messages, undisclosed, api_id)
    challenge = proof_challenge(init_res, [messages[i] for i in disclosed], disclosed, ph, api_id)
    return proof_finalize(init_res, challenge, sig[1], scalars, [messages[j] for j in undisclosed])


ProofParts = tuple[G1Point, G1Point, G1Point, int, int, int, list[int], int]


def octets_to_proof(data: bytes) -> ProofParts:
    floor = 3 * OCTET_POINT_LENGTH + 4 * OCTET_SCALAR_LENGTH
    if len(data) < floor or (len(data) - 3 * OCTET_POINT_LENGTH) % OCTET_SCALAR_LENGTH:
        raise BBSError("a proof is 3 points and at least 4 scalars")
    points = [octets_to_point_g1(data[i * OCTET_POINT_LENGTH:(i + 1) * OCTET_POINT_LENGTH]) for i in range(3)]
    rest = data[3 * OCTET_POINT_LENGTH:]
    scalars = [octets_to_scalar(rest[i:i + OCTET_SCALAR_LENGTH]) for i in range(0, len(rest), OCTET_SCALAR_LENGTH)]
    return points[0], points[1], points[2], scalars[0], scalars[1], scalars[2], scalars[3:-1], scalars[-1]


def proof_verify_init(pk: bytes, proof: ProofParts, generators: Sequence[G1Point], header: bytes,
                      disclosed_messages: Sequence[int], disclosed: Sequence[int], api_id: bytes) -> InitRes:
    abar, bbar, d, e_hat, r1_hat, r3_hat, commitments, c = proof
    length = len(commitments) + len(disclosed)
    undisclosed = _check_indexes(disclosed, length)
    if len(disclosed_messages) != len(disclosed) or len(generators) != length + 1:
        raise BBSError("disclosed messages and indexes differ in number")
    q1, hs = generators[0], list(generators[1:])
    domain = calculate_domain(pk, q1, hs, header, api_id)
    t1 = msm([bbar, abar, d], [c, e_hat, r1_hat])
    # T2 = Bv * c + D * r3^ + sum(H_j * m^_j), Bv = P1 + Q_1 * domain + sum(H_i * msg_i): one multi-exponentiation
    t2 = msm([p1(), q1, *[hs[i] for i in disclosed], d, *[hs[j] for j in undisclosed]],
             [c, domain * c, *[m * c for m in disclosed_messages], r3_hat, *commitments])
    return abar, bbar, d, t1, t2, domain


def core_proof_verify(pk: bytes, proof: bytes, generators: Sequence[G1Point], header: bytes, ph: bytes,
                      disclosed_messages: Sequence[int], disclosed: Sequence[int],
                      api_id: bytes = API_ID) -> bool:
    try:
        parts = octets_to_proof(proof)
        w = octets_to_pubkey(pk)
        init_res = proof_verify_init(pk, parts, generators, header, disclosed_messages, disclosed, api_id)
    except BBSError:
        return False
    if parts[-1] != proof_challenge(init_res, disclosed_messages, disclosed, ph, api_id):
        return False
    abar, bbar = parts[0], parts[1]
    return bool(GT.pairing_check([abar, -bbar], [w, G2Point()]))


def proof_gen(pk: bytes, signature: bytes, header: bytes, ph: bytes, messages: Sequence[bytes],
              disclosed: Sequence[int], random_scalars: RandomScalars = calculate_random_scalars) -> bytes:
    scalars = messages_to_scalars(messages)
    return core_proof_gen(pk, signature, create_generators(len(messages) + 1), header, ph, scalars, disclosed,
                          API_ID, random_scalars)


def proof_verify(pk: bytes, proof: bytes, header: bytes, ph: bytes, disclosed_messages: Sequence[bytes],
                 disclosed: Sequence[int]) -> bool:
    floor = 3 * OCTET_POINT_LENGTH + 4 * OCTET_SCALAR_LENGTH
    if len(proof) < floor or len(disclosed_messages) > MAX_MESSAGES:
        return False
    u = (len(proof) - floor) // OCTET_SCALAR_LENGTH
    if u + len(disclosed) > MAX_MESSAGES:
        return False
    scalars = messages_to_scalars(disclosed_messages)
    return core_proof_verify(pk, proof, create_generators(u + len(disclosed) + 1), header, ph, scalars,
                             disclosed)


# --- pseudonyms (CFRG "BBS per Verifier Linkability", length_nym_vector = 1) -------------------------------
# The pseudonym secret is the last signed message and is never disclosed. pseudonym = OP * nym_secret with
# OP = hash_to_curve_g1(context_id, api_id): the same for one secret in one context, unlinkable across
# contexts (DDH in G1). The proof shows, with the BBS proof's own challenge, that the pseudonym's exponent
# is the signed secret: Ut = OP * m~_nym at generation, Uv = OP * m^_nym - pseudonym * c at verification.

@lru_cache(maxsize=64)
def pseudonym_base(context_id: bytes, api_id: bytes) -> G1Point:
    # one context per venue type and window at a gate, shared by every holder: hashed once per window
    return hash_to_curve_g1(context_id, api_id)


def calculate_pseudonym(context_id: bytes, nym_secret: int, api_id: bytes) -> bytes:
    return point_to_octets_g1(pseudonym_base(context_id, api_id) * _scalar(nym_secret))


def core_proof_gen_with_nym(pk: bytes, signature: bytes, generators: Sequence[G1Point], header: bytes,
                            ph: bytes, context_id: bytes, messages: Sequence[int], disclosed: Sequence[int],
                            api_id: bytes,
                            random_scalars: RandomScalars = calculate_random_scalars) -> tuple[bytes, bytes]:
    """(proof, pseudonym); `messages` ends with the pseudonym secret, which `disclosed` must not name."""
    sig = octets_to_signature(signature)
    undisclosed = _check_indexes(disclosed, len(messages))
    if not undisclosed or undisclosed[-1] != len(messages) - 1:
        raise BBSError("the pseudonym secret (the last message) is never disclosed")
    scalars = random_scalars(5 + len(undisclosed))
    init_res = proof_init(pk, sig, generators, scalars, header, messages, undisclosed, api_id)
    op = pseudonym_base(context_id, api_id)
    pseudonym = op * _scalar(messages[-1])
    ut = op * _scalar(scalars[-1])
    if pseudonym == G1Point.identity() or ut == G1Point.identity():
        raise BBSError("degenerate pseudonym")
    challenge = proof_challenge(init_res, [messages[i] for i in disclosed], disclosed, ph, api_id,
                                (pseudonym, ut, context_id))
    proof = proof_finalize(init_res, challenge, sig[1], scalars, [messages[j] for j in undisclosed])
    return proof, point_to_octets_g1(pseudonym)


def core_proof_verify_with_nym(pk: bytes, proof: bytes, pseudonym: bytes, context_id: bytes,
                               generators: Sequence[G1Point], header: bytes, ph: bytes,
                               disclosed_messages: Sequence[int], disclosed: Sequence[int], api_id: bytes) -> bool:
    try:
        parts = octets_to_proof(proof)
        w = octets_to_pubkey(pk)
        nym_point = octets_to_point_g1(pseudonym)  # never the identity, always in the subgroup
        init_res = proof_verify_init(pk, parts, generators, header, disclosed_messages, disclosed, api_id)
    except BBSError:
        return False
    commitments, c = parts[6], parts[7]
    length = len(commitments) + len(disclosed)
    if not commitments or (length - 1) in disclosed:
        return False
    uv = msm([pseudonym_base(context_id, api_id), nym_point], [commitments[-1], R - c])
    if uv == G1Point.identity():
        return False
    if c != proof_challenge(init_res, disclosed_messages, disclosed, ph, api_id, (nym_point, uv, context_id)):
        return False
    return bool(GT.pairing_check([parts[0], -parts[1]], [w, G2Point()]))


# --- blind issuance (CFRG "Blind BBS Signatures" Commit and the pseudonym draft's BlindSignWithNym) -------
# The holder commits to its pseudonym secret, C = Q_2 * prover_blind + J_1 * prover_nym, with a Schnorr proof
# that it knows the opening; the issuer checks the proof, adds its own entropy on J_1 and signs B without
# ever seeing the secret. The holder's secret is prover_nym + signer_nym_entropy, and the signature is a
# BBS signature over (messages..., prover_blind, nym_secret) with the blind generators after the signer's.

def blind_generators(count: int, api_id: bytes) -> list[G1Point]:
    return list(_generators(MAX_MESSAGES + 2, b"BLIND_" + api_id)[:count])


def _blind_challenge(commitment: G1Point, cbar: G1Point, gens: Sequence[G1Point], api_id: bytes) -> int:
    return hash_to_scalar(serialize([_int(len(gens) - 1), *gens, commitment, cbar]), api_id + b"H2S_")


def commit(committed_scalars: Sequence[int], api_id: bytes,
           random_scalars: RandomScalars = calculate_random_scalars) -> tuple[bytes, int]:
    """CoreCommit: (commitment_with_proof, secret_prover_blind) for the holder's committed scalars."""
    m = len(committed_scalars)
    gens = blind_generators(m + 1, api_id)
    prover_blind, s_t, *m_t = random_scalars(m + 2)
    c = msm([*gens[1:], gens[0]], [*committed_scalars, prover_blind])
    cbar = msm([*gens[1:], gens[0]], [*m_t, s_t])
    challenge = _blind_challenge(c, cbar, gens, api_id)
    s_hat = (s_t + prover_blind * challenge) % R
    m_hat = [(mt + msg * challenge) % R for mt, msg in zip(m_t, committed_scalars, strict=True)]
    return serialize([c, s_hat, *m_hat, challenge]), prover_blind


def commit_verify(commitment_with_proof: bytes, api_id: bytes) -> tuple[G1Point, int]:
    """The commitment point and how many scalars it commits to, after checking its proof; BBSError if bad."""
    data = commitment_with_proof
    if len(data) < OCTET_POINT_LENGTH + 2 * OCTET_SCALAR_LENGTH or (len(data) - OCTET_POINT_LENGTH) % 32:
        raise BBSError("a commitment is a point and at least two scalars")
    if (len(data) - OCTET_POINT_LENGTH) // OCTET_SCALAR_LENGTH > MAX_MESSAGES:
        raise BBSError("too many committed messages")
    c = octets_to_point_g1(data[:OCTET_POINT_LENGTH])
    rest = data[OCTET_POINT_LENGTH:]
    scalars = [octets_to_scalar(rest[i:i + OCTET_SCALAR_LENGTH]) for i in range(0, len(rest), OCTET_SCALAR_LENGTH)]
    s_hat, m_hat, challenge = scalars[0], scalars[1:-1], scalars[-1]
    gens = blind_generators(len(m_hat) + 1, api_id)
    cbar = msm([*gens[1:], gens[0], c], [*m_hat, s_hat, (R - challenge) % R])
    if _blind_challenge(c, cbar, gens, api_id) != challenge:
        raise BBSError("the commitment's proof does not verify")
    return c, len(m_hat)


def blind_sign_with_nym(sk: int, pk: bytes, commitment_with_proof: bytes, signer_nym_entropy: int,
                        header: bytes, messages: Sequence[int], api_id: bytes) -> bytes:
    """BlindSignWithNym (one pseudonym secret, the last committed scalar). ``header`` is the combined header
    (header || I2OSP(1, 8)); ``messages`` the signer's own scalars."""
    commitment, m = commit_verify(commitment_with_proof, api_id)
    gens = create_generators(len(messages) + 1, api_id)
    blind = blind_generators(m + 1, api_id)
    q1, hs = gens[0], gens[1:]
    domain = calculate_domain(pk, q1, [*hs, *blind], header, api_id)
    b = p1() + msm([q1, *hs, blind[-1]], [domain, *messages, signer_nym_entropy]) + commitment
    if b == G1Point.identity():
        raise BBSError("degenerate signature")
    # e from (SK, B) as the pseudonym draft's fixtures have it (B already holds the domain); the blind draft
    # text now also hashes the domain, a difference the fixtures settle
    e = hash_to_scalar(serialize([sk, b]), api_id + b"H2S_")
    if (sk + e) % R == 0:
        raise BBSError("degenerate signature")
    return serialize([b * _scalar(pow(sk + e, -1, R)), e])
