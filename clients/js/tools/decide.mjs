// Decide a batch of cases, for differential tests against another implementation (tests/sdk/test_js_verifier.py).
// stdin: {"root_public_key": JWK, "cases": [{"trust_list", "audience", "leeway"?, "perk"?, "now", "qr_text",
//         "repeat"?, "prior"?: [{"qr_text", "perk", "now"}]}]}
// stdout: [[status, ...], ...] — one list per case, "repeat" answers each (default 1), then with "fields": true
//         the last decision's fields; a trust list that is
//         refused gives ["LOAD:<error class>"]. A case {"loads": [trust list, ...]} instead loads the lists in
//         order into one store and answers one "OK" or error class name per list.
import { TrustStore, Verifier } from "../src/index.js";
import { checkDepth } from "../src/json.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const iatOf = (jws) => JSON.parse(Buffer.from(jws.split(".")[1], "base64url").toString("utf8")).iat;
if (input.depth_cases) {
  // [[base64 bytes, max depth], ...] -> [true when within the depth, ...]
  const answers = input.depth_cases.map(([b64, max]) => {
    try {
      checkDepth(Buffer.from(b64, "base64"), max);
      return true;
    } catch {
      return false;
    }
  });
  process.stdout.write(JSON.stringify(answers));
  process.exit(0);
}
// "bbs": a path or URL of a BBS module (PP3 proofs: backend/static/app/vendor/pp3-holder.mjs); absent, none
const bbs = input.bbs ? await import(input.bbs) : null;
const out = [];
const stores = new Map(); // trust list text -> loaded store (verifying a code never changes a store)
for (const c of input.cases) {
  if (c.loads) {
    const store = new TrustStore(input.root_public_key);
    const got = [];
    for (const tl of c.loads) {
      try {
        await store.load(tl, { now: c.now });
        got.push("OK");
      } catch (err) {
        got.push(err.name);
      }
    }
    out.push(got);
    continue;
  }
  let store = stores.get(c.trust_list);
  if (!store) {
    store = new TrustStore(input.root_public_key);
    try {
      await store.load(c.trust_list, { now: iatOf(c.trust_list) });
    } catch (err) {
      out.push([`LOAD:${err.name}`]);
      continue;
    }
    stores.set(c.trust_list, store);
  }
  const verifier = new Verifier(store, { audience: c.audience, leeway: c.leeway ?? 5, bbs });
  for (const p of c.prior ?? []) await verifier.verify(p.qr_text, { perk: p.perk, now: p.now });
  const got = [];
  let last = null;
  for (let i = 0; i < (c.repeat ?? 1); i++) {
    last = await verifier.verify(c.qr_text, { perk: c.perk ?? null, now: c.now });
    got.push(last.status);
  }
  if (input.fields) { // the last decision's fields, in the Python SDK's names
    got.push({ perks: [...last.perks], pseudonym: last.pseudonym, jti: last.jti, issuer: last.issuer,
      audience: last.audience, scheme: last.scheme, band: last.band, issued_at: last.issuedAt,
      expires_at: last.expiresAt, kid: last.kid });
  }
  out.push(got);
}
process.stdout.write(JSON.stringify(out));
