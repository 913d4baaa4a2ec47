// Perkpass test tool: BBS signatures and proofs made and checked by @digitalbazaar/bbs-signatures (pure
// JavaScript on @noble/curves), BLS12-381-SHA-256, for tests/sdk/test_bbs_js_interop.py. One JSON request
// on standard input, one JSON answer on standard output; bytes as hex.
import * as bbs from '@digitalbazaar/bbs-signatures';

const SUITE = bbs.CIPHERSUITES.BLS12381_SHA256;
const hex = b => Buffer.from(b).toString('hex');
const unhex = h => new Uint8Array(Buffer.from(h, 'hex'));

let input = '';
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
const out = {};
const messages = (req.messages || []).map(unhex);
if(req.op === 'sign_and_prove') {
  const secretKey = unhex(req.secret_key);
  const publicKey = await bbs.secretKeyToPublicKey({secretKey, ciphersuite: SUITE});
  const signature = await bbs.sign({secretKey, publicKey, header: unhex(req.header), messages, ciphersuite: SUITE});
  const t0 = performance.now();
  const proof = await bbs.deriveProof({publicKey, signature, header: unhex(req.header), messages,
    presentationHeader: unhex(req.ph), disclosedMessageIndexes: req.disclosed, ciphersuite: SUITE});
  out.proof_ms = performance.now() - t0;
  Object.assign(out, {public_key: hex(publicKey), signature: hex(signature), proof: hex(proof)});
} else if(req.op === 'verify_proof') {
  out.valid = await bbs.verifyProof({publicKey: unhex(req.public_key), proof: unhex(req.proof),
    header: unhex(req.header), presentationHeader: unhex(req.ph),
    disclosedMessages: messages, disclosedMessageIndexes: req.disclosed, ciphersuite: SUITE});
}
process.stdout.write(JSON.stringify(out));
