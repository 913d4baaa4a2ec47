/*
 * Perkpass PP3 on the phone (issue 23): the holder's half of blind issuance and the unlinkable codes.
 * The same bytes as partner_sdk/pp3.py (holder_request, present), written from docs/credential-format.md
 * ("PP3"). Curve arithmetic and hash-to-curve come from @noble/curves, the BBS steps (generators,
 * messages to scalars, ProofInit, ProofFinalize) from @digitalbazaar/bbs-signatures' own modules; this
 * file adds only what those do not export: the commitment (CFRG Blind BBS, CoreCommit) and the
 * pseudonym's proof terms (CFRG per-verifier linkability, one secret), checked against the drafts'
 * fixtures on the Python side and against the Python verifier in tests/browser/test_pp3_page.py.
 * Built into backend/static/app/vendor/pp3-holder.mjs (npm run build); the page loads it lazily.
 */
import {sha256} from '@noble/hashes/sha256';
import {getCiphersuite} from 'bbs-internals/ciphersuites.js';
import {
  calculate_random_scalars, concatGenerators, create_generators, hash_to_scalar, i2osp, messages_to_scalars,
  octets_to_proof, octets_to_pubkey, octets_to_signature, serialize
} from 'bbs-internals/util.js';
import {ProofFinalize, ProofInit, ProofVerifyInit} from 'bbs-internals/proof.js';
import {CoreProofVerify} from 'bbs-internals/core.js';

const CS = getCiphersuite('BLS12-381-SHA-256');
const enc = new TextEncoder();
const API_ID = enc.encode(CS.ciphersuite_id + 'H2G_HM2S_PSEUDONYM_');
const BLIND_API_ID = concat(enc.encode('BLIND_'), API_ID);
const H2S = concat(API_ID, enc.encode('H2S_'));
const SLOT_SECONDS = 30;
const DISCLOSED = [0, 1, 2];
const UNDISCLOSED = [3, 4];  // the holder's blind and pseudonym secret; the issuer's three are all shown

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for(const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

let cachedGenerators = null;
function generators() {
  // (Q_1, H_1..H_3) of the issuer's messages, then (Q_2, J_1) for the holder's blind and secret
  cachedGenerators = cachedGenerators || concatGenerators(
    create_generators({count: 4, api_id: API_ID, ciphersuite: CS}),
    create_generators({count: 2, api_id: BLIND_API_ID, ciphersuite: CS}));
  return cachedGenerators;
}

async function randomScalars(count) {
  return calculate_random_scalars({count, ciphersuite: CS});
}

/** The phone's part of its pseudonym secret and a hiding commitment to it, with the proof that it knows
 * the opening. Send `commitment`; keep `proverNym` and `proverBlind` (never sent). */
export async function holderRequest() {
  const [proverNym, proverBlind, sTilde, mTilde] = await randomScalars(4);
  const blind = create_generators({count: 2, api_id: BLIND_API_ID, ciphersuite: CS});
  const [Q2, J1] = blind;
  const C = J1.multiply(proverNym).add(Q2.multiply(proverBlind));
  const Cbar = J1.multiply(mTilde).add(Q2.multiply(sTilde));
  const c = hash_to_scalar({msg_octets: serialize({input_array: [1, Q2, J1, C, Cbar], ciphersuite: CS}),
    dst: H2S, ciphersuite: CS});
  const {Fr} = CS;
  const commitment = serialize({input_array: [C, Fr.add(sTilde, Fr.mul(proverBlind, c)),
    Fr.add(mTilde, Fr.mul(proverNym, c)), c], ciphersuite: CS});
  return {commitment, proverNym, proverBlind};
}

/** The pseudonym secret: the phone's part plus the issuer's entropy (32 bytes, big-endian). */
export function holderSecret(request, signerNymEntropy) {
  const entropy = BigInt('0x' + toHex(signerNymEntropy));
  return {proverBlind: request.proverBlind, nymSecret: CS.Fr.add(request.proverNym, CS.Fr.create(entropy))};
}

function contexts({issuer, kid, audience, slot, window}) {
  return {
    header: concat(enc.encode(`perkpass-pp3-certificate\0${issuer}\0${kid}`), i2osp(1, 8)),
    ph: concat(enc.encode('perkpass-pp3-presentation\0'), i2osp(slot, 8)),
    context: concat(enc.encode(`perkpass-pp3-nym\0${issuer}\0${audience}\0`), i2osp(window, 4),
      i2osp(Math.floor(slot * SLOT_SECONDS / window), 8)),
  };
}

function nymChallenge(scalars, initRes, pseudonym, Ut, ph, context) {
  const [Abar, Bbar, D, T1, T2, domain] = initRes;
  const cArr = [DISCLOSED.length];
  DISCLOSED.forEach((i, k) => cArr.push(i, scalars[k]));
  cArr.push(Abar, Bbar, D, T1, T2, pseudonym, Ut, domain);
  return hash_to_scalar({msg_octets: concat(serialize({input_array: cArr, ciphersuite: CS}),
    i2osp(ph.length, 8), ph, i2osp(context.length, 8), context), dst: H2S, ciphersuite: CS});
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The verifier's half (clients/js uses it for PP3 codes): whether `proof` (336 bytes) with `pseudonym` (48,
 * or null for a code without one: then the plain CoreProofVerify) proves a certificate of `publicKey` (96) disclosing (audience, perks, day), bound to `slot` and the quota
 * window's context: CoreProofVerifyWithNym of the drafts, as partner_sdk.bbs does it. Points must be the
 * canonical encoding of a subgroup point other than the identity. Never throws: anything off is false.
 */
export function verifyProof({publicKey, proof, pseudonym, issuer, kid, audience, perks, day, slot, window}) {
  try {
    const parts = octets_to_proof({proof_octets: proof, ciphersuite: CS});
    if (parts.length !== 3 + 4 + UNDISCLOSED.length) return false;
    for (let i = 0; i < 3; i++) {
      if (!sameBytes(CS.point_to_octets_E1(parts[i]), proof.subarray(48 * i, 48 * (i + 1)))) return false;
    }
    const W = octets_to_pubkey({PK: publicKey, ciphersuite: CS});
    if (!sameBytes(CS.point_to_octets_E2(W), publicKey)) return false;
    const disclosed = messages_to_scalars({messages: [audience, perks.join(','), String(day)].map(x => enc.encode(x)),
      api_id: API_ID, ciphersuite: CS});
    if (pseudonym === null) {  // a code without a quota pseudonym: the plain CoreProofVerify
      const {header, ph} = contexts({issuer, kid, audience, slot, window: 1});
      return CoreProofVerify({PK: publicKey, proof, generators: generators(), header, ph,
        disclosed_messages: disclosed, disclosed_indexes: DISCLOSED, api_id: API_ID, ciphersuite: CS});
    }
    const nym = CS.octets_to_point_E1(pseudonym);
    if (nym.equals(CS.Identity_E1) || !sameBytes(CS.point_to_octets_E1(nym), pseudonym)) return false;
    const {header, ph, context} = contexts({issuer, kid, audience, slot, window});
    const initRes = ProofVerifyInit({PK: publicKey, proof: parts, generators: generators(), header,
      disclosed_messages: disclosed, disclosed_indexes: DISCLOSED, api_id: API_ID, ciphersuite: CS});
    const c = parts[parts.length - 1];
    const secretHat = parts[parts.length - 2];  // the pseudonym secret is the last undisclosed message
    const Uv = CS.hash_to_curve_g1(context, API_ID).multiply(secretHat).add(nym.multiply(CS.Fr.neg(c)));
    if (Uv.equals(CS.Identity_E1)) return false;
    if (nymChallenge(disclosed, initRes, nym, Uv, ph, context) !== c) return false;
    return CS.pairingCompare({pair1: [parts[0], W], pair2: [parts[1], CS.BP2]});
  } catch {
    return false;
  }
}

/** One PP3 code, "PP3" + digits. `cert`: {kid, audience, perks (sorted), day, signature (bytes), claimsBlock
 * (bytes, as the issuer sent it)}; `now`: seconds, within the certificate's UTC day (the code carries no day:
 * the gate takes it from the slot); `window`: the quota window the issuer said. */
export async function makeCode({cert, secret, publicKey, issuer, now, window}) {
  const slot = Math.floor(now / SLOT_SECONDS);
  if (Math.floor(slot * SLOT_SECONDS / 86400) !== cert.day) throw new RangeError('a certificate makes codes only on its day');
  const signer = messages_to_scalars({messages: [cert.audience, cert.perks.join(','), String(cert.day)]
    .map(s => enc.encode(s)), api_id: API_ID, ciphersuite: CS});
  const scalars = [...signer, secret.proverBlind, secret.nymSecret];
  const {header, ph, context} = contexts({issuer, kid: cert.kid, audience: cert.audience, slot, window});
  const signatureResult = octets_to_signature({signature_octets: cert.signature, ciphersuite: CS});
  const random = await randomScalars(5 + UNDISCLOSED.length);
  const initRes = ProofInit({PK: publicKey, signature_result: signatureResult, generators: generators(),
    random_scalars: random, header, messages: scalars, undisclosed_indexes: UNDISCLOSED, api_id: API_ID,
    ciphersuite: CS});
  const OP = CS.hash_to_curve_g1(context, API_ID);
  const pseudonym = OP.multiply(secret.nymSecret);
  const Ut = OP.multiply(random[random.length - 1]);  // the secret is the last undisclosed message
  const challenge = nymChallenge(DISCLOSED.map(i => scalars[i]), initRes, pseudonym, Ut, ph, context);
  const proof = ProofFinalize({init_res: initRes, challenge, e_value: signatureResult[1], random_scalars: random,
    undisclosed_messages: UNDISCLOSED.map(j => scalars[j]), ciphersuite: CS});
  const keyRef = sha256(enc.encode(cert.kid)).slice(0, 4);
  const head = concat(Uint8Array.of(0x31), keyRef, i2osp(slot, 4), Uint8Array.of(cert.claimsBlock.length));
  const bytes = concat(head, cert.claimsBlock, i2osp(window, 4), CS.point_to_octets_E1(pseudonym), proof);
  return 'PP3' + BigInt('0x01' + toHex(bytes)).toString(10);
}

function toHex(bytes) {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}
