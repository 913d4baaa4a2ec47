// This module's constants are the published ones (assets/credential-format/): dictionaries byte for byte,
// patterns, limits, contexts, curve numbers.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as k from "../src/constants.js";
import { ED25519_L, ED25519_P, P256_N, P256_P, SMALL_ORDER_ED25519 } from "../src/curves.js";
import * as venue from "../src/venue.js";

const ASSETS = new URL("../../../assets/credential-format/", import.meta.url);
const C = JSON.parse(readFileSync(new URL("constants.json", ASSETS), "utf8"));

test("the preset dictionaries are the published files, with the published size and SHA-256", () => {
  for (const [name, bytes] of [["pp1", k.PP1_PRESET_DICTIONARY], ["pp2", k.PP2_PRESET_DICTIONARY]]) {
    const d = C[name].preset_dictionary;
    assert.deepEqual(Buffer.from(bytes), readFileSync(new URL(d.file, ASSETS)));
    assert.equal(bytes.length, d.bytes);
    assert.equal(createHash("sha256").update(bytes).digest("hex"), d.sha256);
  }
});

test("patterns, limits, contexts and curve numbers are the published ones", () => {
  const whole = (re) => re.source.replace(/^\^/, "").replace(/\$$/, "");
  assert.deepEqual({ audience: whole(k.AUDIENCE_RE), scheme: whole(k.SCHEME_RE), perk_code: whole(k.PERK_CODE_RE),
    band: whole(k.BAND_RE), id: whole(k.ID_RE), withdrawn_certificate_id: `[A-Za-z0-9_-]{${k.REVOKED_ID_CHARS}}` }, C.patterns);
  assert.equal(k.MAX_QR_TEXT, C.transport.max_qr_text_characters);
  assert.equal(k.SIGNATURE_LEN, C.transport.signature_bytes);
  assert.deepEqual([k.ALGORITHM, k.CREDENTIAL_TYP, k.MAX_INFLATED, k.MAX_LIFETIME, k.MAX_PERKS, k.HEADER_MAX_DEPTH,
    k.PAYLOAD_MAX_DEPTH], [C.pp1.alg, C.pp1.typ, C.pp1.max_inflated_bytes, C.pp1.max_lifetime_seconds, C.pp1.max_perks,
    C.pp1.header_max_depth, C.pp1.payload_max_depth]);
  const p = C.pp2;
  assert.deepEqual([k.CERT_FORMAT, k.KID_REF_LEN, k.MAX_CERT_LIFETIME, k.MAX_CLAIMS_INFLATED, k.MIN_PRESENTATION_WINDOW,
    k.DEFAULT_PRESENTATION_WINDOW, k.MAX_PRESENTATION_WINDOW, k.SLOT_SECONDS, k.MAX_REUSE_INTERVAL],
  [p.certificate_format, p.kid_reference_bytes, p.max_certificate_lifetime_seconds, p.max_claims_inflated_bytes,
    p.min_presentation_window_seconds, p.default_presentation_window_seconds, p.max_presentation_window_seconds,
    p.slot_seconds, p.max_reuse_interval_seconds]);
  assert.deepEqual(k.DEVICE_KEY_LEN, Object.fromEntries(Object.entries(p.key_types).map(([t, v]) => [t, v.bytes])));
  assert.equal(k.CERT_HEAD_LEN, 1 + p.kid_reference_bytes + 4 + 4 + p.certificate_id_bytes);
  assert.equal(new TextDecoder().decode(k.CERT_CONTEXT), p.certificate_context);
  assert.equal(new TextDecoder().decode(k.PRESENTATION_CONTEXT), p.presentation_context);
  const t = C.trust_list;
  assert.deepEqual([k.TRUST_LIST_TYP, k.ROOT_STATEMENT_TYP, k.MAX_TRUST_LIST_BYTES, k.MAX_ROOT_CHAIN, k.TRUST_LIST_MAX_DEPTH,
    k.ROOT_STATEMENT_MAX_DEPTH], [t.typ, t.root_statement_typ, t.max_bytes, t.max_root_chain, t.payload_max_depth,
    t.root_statement_max_depth]);
  assert.deepEqual([k.DEFAULT_LEEWAY, k.MAX_LEEWAY, k.MAX_EPOCH], [C.verifier.default_leeway_seconds,
    C.verifier.max_leeway_seconds, C.verifier.max_epoch]);
  assert.deepEqual([ED25519_P, ED25519_L, P256_P, P256_N].map(String), [C.curves.ed25519_p, C.curves.ed25519_l,
    C.curves.p256_p, C.curves.p256_n]);
  assert.deepEqual([...SMALL_ORDER_ED25519].sort(), C.curves.ed25519_small_order_encodings);
});

test("venue-type policy limits and fallbacks are the published ones", () => {
  const v = C.venue_types;
  assert.deepEqual([venue.MAX_VENUE_TYPES, venue.MAX_PERKS_PER_VENUE_TYPE, venue.MAX_LABEL_CHARS, venue.LANGUAGES,
    venue.MAX_GRACE, k.MAX_REUSE_INTERVAL, venue.FALLBACK_GRACE, venue.FALLBACK_REUSE_INTERVAL],
  [v.max_venue_types, v.max_perks_per_venue_type, v.max_label_characters, v.label_languages, v.max_grace_seconds,
    v.max_reuse_interval_seconds, v.fallback_grace_seconds, v.fallback_reuse_interval_seconds]);
  const v1 = venue.policyFor(null, "metro");
  assert.deepEqual([v1.graceAfterNextUpdate, v1.reuseInterval], [v.without_member.grace_seconds, v.without_member.reuse_interval_seconds]);
  assert.equal(venue.POLICY_PERK_RE.source.replace(/^\^/, "").replace(/\$$/, ""), v.perk_rule_pattern);
});

