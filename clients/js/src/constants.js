// Every constant of docs/credential-format.md, in one place. The preset dictionaries are also published as
// assets/credential-format/pp{1,2}-preset-dictionary.bin; the tests check these bytes against those files.

import { latin1Bytes } from "./bytes.js";

export const MAX_QR_TEXT = 1500; // characters (code points), checked before any parsing
export const SIGNATURE_LEN = 64;
export const MAX_EPOCH = 2 ** 40;
export const MAX_LEEWAY = 120;
export const DEFAULT_LEEWAY = 5;

// PP1
export const ALGORITHM = "EdDSA";
export const CREDENTIAL_TYP = "perkpass-credential+jwt";
export const TRUST_LIST_TYP = "perkpass-trust-list+jwt";
export const ROOT_STATEMENT_TYP = "perkpass-root+jwt";
export const MAX_INFLATED = 2048;
export const MAX_LIFETIME = 300;
export const MAX_PERKS = 8;
export const HEADER_MAX_DEPTH = 2;
export const PAYLOAD_MAX_DEPTH = 16;
export const PP1_PRESET_DICTIONARY = latin1Bytes(
  '"rental","utility","transport","sesame","rongcheng","osmanthus","bailu","moli",' +
  '"library","hospital","gov-office","metro","bnd":"' +
  '{"alg":"EdDSA","kid":"","typ":"perkpass-credential+jwt"}\x00' +
  '{"iss":"perkpass","aud":"","iat":17,"exp":17,"jti":"","sub":"","sch":"","prk":["',
);

// Field patterns (ASCII only; each must match the whole field)
export const AUDIENCE_RE = /^[a-z][a-z0-9-]{1,31}$/;
export const SCHEME_RE = /^[a-z][a-z0-9-]{1,31}$/;
export const PERK_CODE_RE = /^[A-Z0-9][A-Z0-9-]{0,31}$/;
export const ID_RE = /^[A-Za-z0-9_-]{8,64}$/; // jti, sub, and a trust list's revoked certificate ids
export const BAND_RE = /^[A-Za-z0-9+_-]{1,32}$/;

// PP2
export const CERT_FORMAT = 2;
export const KEY_ED25519 = 1;
export const KEY_P256 = 2;
export const DEVICE_KEY_LEN = { [KEY_ED25519]: 32, [KEY_P256]: 65 };
export const MAX_CERT_LIFETIME = 7 * 86400;
export const DEFAULT_PRESENTATION_WINDOW = 60;
export const MIN_PRESENTATION_WINDOW = 5;
export const MAX_PRESENTATION_WINDOW = 300;
export const SLOT_SECONDS = 30; // the decision's jti is <certificate id>-<presented_at / 30>
export const MAX_REUSE_INTERVAL = 31 * 86400;
export const KID_REF_LEN = 8;
export const MAX_CLAIMS_INFLATED = 512;
export const CERT_HEAD_LEN = 29; // format/key type 1, kid reference 8, not_before 4, not_after 4, id 12
export const MIN_CERT_WITH_SIGNATURE = CERT_HEAD_LEN + 32 + 1 + 2 + SIGNATURE_LEN; // 128 bytes
export const CERT_CONTEXT = latin1Bytes("perkpass-pp2-certificate\x00");
export const PRESENTATION_CONTEXT = latin1Bytes("perkpass-pp2-presentation\x00");
export const PP2_PRESET_DICTIONARY = latin1Bytes(
  "rental\x00sesame\x00utility\x00bank\x00rongcheng\x00RC-HEATING,RC-LOAN,RC-CHECKUP,RC-NODEPOSIT," +
  "culture\x00library\x00bailu\x00\x00BAILU-LIB-NODEPOSIT,BAILU-LIB-PRIORITY,BAILU-VENUE-DISCOUNT," +
  "osmanthus\x00\x00OSM-LIB-LONGLOAN,OSM-HOSP-PRIORITY,OSM-TRANSIT,SES-BIKE-NODEPOSIT,SES-CAR-NODEPOSIT," +
  "SES-FLAT-NODEPOSIT,hospital\x00gov-office\x00moli\x00\x00MOLI-GOV-ASSIST,MOLI-GOV-EXPRESS,MOLI-GOV-PRIORITY," +
  "metro\x00moli\x00\x00MOLI-METRO20",
);

// Trust lists
export const MAX_TRUST_LIST_BYTES = 1_000_000;
export const TRUST_LIST_MAX_DEPTH = 8;
export const ROOT_STATEMENT_MAX_DEPTH = 3;
export const MAX_ROOT_CHAIN = 64;
export const REVOKED_ID_CHARS = 16; // a 12-byte certificate id is exactly 16 base64url characters
