"""Redemption batches from kiosks, the cross-venue replay report and a citizen's own history."""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, IntegrityError

from partner_sdk import pp2
from partner_sdk.format import MAX_LEEWAY

from ..extensions import db
from ..models import Device, PerkCertificate, Redemption, RedemptionRejection, SigningKey, Venue
from .perks import Catalogue, get_catalogue

# What a kiosk can truthfully report (partner_sdk.Decision.jti / .pseudonym):
#   PP1 code: jti = 12 random bytes in base64url (16 chars), pseudonym = 14-byte pairwise HMAC in base32 (23 chars)
#   PP2 code: pseudonym = certificate id (12 bytes, 16 base64url chars), jti = "<certificate id>-<30 s slot>"
PP1_JTI_RE = re.compile(r"[A-Za-z0-9_-]{16}\Z")
PP1_PSEUDONYM_RE = re.compile(r"[A-Z2-7]{22}[AIQY]\Z")  # 112 bits in 23 chars: the last one's 3 low bits are 0
PP2_JTI_RE = re.compile(r"([A-Za-z0-9_-]{16})-(0|[1-9][0-9]{0,10})\Z")
# A PP2 presentation is accepted within the verifier's window (at most this much) of the kiosk's clock
PRESENTATION_TOLERANCE = pp2.MAX_PRESENTATION_WINDOW + MAX_LEEWAY

# Why an item was refused: stable codes a kiosk can log and an operator can look up (docs/contracts.md)
REASONS = {
    "malformed_jti": "The jti is neither a PP1 code id nor a PP2 '<certificate id>-<slot>'.",
    "malformed_pseudonym": "The pseudonym does not have the form the code type gives it.",
    "unknown_perk": "No perk has this code.",
    "wrong_audience": "The perk or certificate is for another venue type than this kiosk's venue.",
    "perk_not_offered": "This kiosk's venue does not offer the perk.",
    "perk_not_certified": "The certificate does not carry the perk.",
    "unknown_certificate": "No certificate has this id.",
    "outside_certificate_validity": "The code's time slot lies outside its certificate's validity.",
    "scanned_in_future": "scanned_at is later than the server's clock allows.",
    "scanned_before_possible": "scanned_at is earlier than such a code could exist at this venue.",
    "scan_time_mismatch": "scanned_at is too far from the time the code was made.",
}


@dataclass(frozen=True)
class VenueFacts:
    """What every item of one batch is checked against, read once per batch."""
    audience: str
    perks: frozenset
    earliest: int  # nothing could be scanned here before the venue and the issuer's first key existed
    latest: int    # the server clock plus the kiosk clock skew allowed


def venue_facts(device: Device, now: int) -> VenueFacts:
    venue = device.venue
    first_key = db.session.scalar(select(func.min(SigningKey.created_at)).where(SigningKey.role == "signing"))
    skew = int(current_app.config["PERKPASS_KIOSK_CLOCK_SKEW"])
    return VenueFacts(audience=venue.audience, perks=frozenset(venue.perk_codes or ()),
                      earliest=max(venue.created_at, first_key or 0) - skew, latest=now + skew)


def check_item(item: dict, facts: VenueFacts, certificates: Mapping[str, PerkCertificate | _Certificate],
               catalogue: Catalogue | None = None) -> str | None:
    """The reason an uploaded redemption is refused, or None when it is plausible at this venue.

    ``certificates``: the PP2 certificates the batch names, by id (absent = unknown). ``catalogue``: the perk
    catalogue (``get_catalogue()`` when not given)."""
    return check_items([item], facts, certificates, catalogue)[0]


def check_items(items: list[dict], facts: VenueFacts, certificates: Mapping[str, PerkCertificate | _Certificate],
                catalogue: Catalogue | None = None) -> list[str | None]:
    """:func:`check_item` for each item of a batch, in order. The catalogue is read once and a PP1 code's perk
    (the same for most of a batch) judged once per perk: ~1 µs per item instead of ~2."""
    catalogue = catalogue or get_catalogue()
    latest, earliest, audience, offered = facts.latest, facts.earliest, facts.audience, facts.perks
    pp2_match, pp1_jti, pp1_pseudonym = PP2_JTI_RE.match, PP1_JTI_RE.match, PP1_PSEUDONYM_RE.match
    pp1_perk: dict[str, str | None] = {}  # a PP1 code's perk -> its reason (it depends on nothing else)
    out: list[str | None] = []
    for item in items:
        jti, perk, at = item["jti"], item["perk"], item["scanned_at"]
        if at > latest:
            out.append("scanned_in_future")
            continue
        if at < earliest:
            out.append("scanned_before_possible")
            continue
        pp2_id = pp2_match(jti)
        if pp2_id is None:
            if not pp1_jti(jti):
                out.append("malformed_jti")
            elif not pp1_pseudonym(item["pseudonym"]):
                out.append("malformed_pseudonym")
            elif perk in pp1_perk:
                out.append(pp1_perk[perk])
            else:
                known = catalogue.perks.get(perk)
                reason = ("unknown_perk" if known is None else "wrong_audience" if known.audience != audience
                          else "perk_not_offered" if perk not in offered else None)
                out.append(pp1_perk.setdefault(perk, reason))
            continue
        out.append(_pp2_reason(item, pp2_id, facts, certificates))
    return out


def _pp2_reason(item: dict, pp2_id: re.Match, facts: VenueFacts,
                certificates: Mapping[str, PerkCertificate | _Certificate]) -> str | None:
    perk, at = item["perk"], item["scanned_at"]
    cert_id, slot = pp2_id.group(1), int(pp2_id.group(2))
    if item["pseudonym"] != cert_id:
        return "malformed_pseudonym"
    cert = certificates.get(cert_id)
    if cert is None:
        return "unknown_certificate"
    if cert.audience != facts.audience:
        return "wrong_audience"
    if perk not in cert.perks.split(","):
        return "perk_not_certified"
    if perk not in facts.perks:
        return "perk_not_offered"
    slot_start = slot * pp2.SLOT_SECONDS
    if slot_start + pp2.SLOT_SECONDS <= cert.not_before - MAX_LEEWAY or slot_start >= cert.not_after + MAX_LEEWAY:
        return "outside_certificate_validity"
    if not slot_start - PRESENTATION_TOLERANCE <= at < slot_start + pp2.SLOT_SECONDS + PRESENTATION_TOLERANCE:
        return "scan_time_mismatch"
    return None


def _certificates_named(items: list[dict]) -> dict[str, PerkCertificate]:
    ids = sorted({m.group(1) for it in items if (m := PP2_JTI_RE.match(it["jti"]))})
    if not ids:
        return {}
    return {c.cert_id: c for c in db.session.scalars(select(PerkCertificate).where(PerkCertificate.cert_id.in_(ids)))}


def ingest(device: Device, items: list[dict], now: int) -> dict:
    """Check and store a batch; answer per item accepted / duplicate / rejected (with a reason).

    Each item is checked against the kiosk's venue (audience, perks it offers), the certificate a PP2 code
    names, a plausible time and strict identifier formats (:func:`check_item`). Idempotent by (device, client
    id): a re-sent item gets its first answer again (an accepted one keeps its original scan time, a rejected
    one its reason, even if the check would now pass). A rejected item is not stored as a redemption, so no
    citizen ever sees it. A jti also redeemed at another venue is flagged as a replay.

    Two syncs of the same batch racing each other (a kiosk retrying after a timeout) meet at the unique
    constraint; the loser starts again and reports the winner's rows as duplicates.

    On PostgreSQL the batch is one statement on the autocommit connection (:func:`_ingest_pg`)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _ingest_pg(device, items, now)
    device_id = device.id
    for attempt in range(3):
        try:
            return _ingest(device, items, now)
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
            device = db.session.get_one(Device, device_id)
    raise AssertionError("unreachable")


def _among(column, values, name: str):
    """``column IN values``. On PostgreSQL one array parameter (``= ANY``): the statement's text is then the
    same for every batch, so the driver's statement cache keeps it (a 100-value IN list is re-parsed by
    psycopg for each batch, ~3 ms, and a citizen's history names ~1,500 pseudonyms)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == func.any(bindparam(name, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def _store(rows: list[dict], device: Device, audience: str, now: int) -> None:
    """Insert accepted redemptions. On PostgreSQL one INSERT ... SELECT FROM unnest(arrays): one short
    statement whatever the batch size (the ORM's unit of work cost ~30 ms per 100 rows)."""
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.add_all([Redemption(client_id=r["id"], device_id=device.id, venue_id=device.venue_id,
                                       audience=audience, jti=r["jti"], pseudonym=r["pseudonym"], perk=r["perk"],
                                       scanned_at=r["scanned_at"], received_at=now) for r in rows])
        db.session.flush()
        return
    db.session.execute(text(
        "INSERT INTO redemptions (client_id, device_id, venue_id, audience, jti, pseudonym, perk, scanned_at, "
        "received_at, cross_venue_replay) SELECT c, :device, :venue, :audience, j, p, k, s, :now, false "
        "FROM unnest(CAST(:c AS varchar[]), CAST(:j AS varchar[]), CAST(:p AS varchar[]), CAST(:k AS varchar[]), "
        "CAST(:s AS bigint[])) AS t(c, j, p, k, s)"),
        {"device": device.id, "venue": device.venue_id, "audience": audience, "now": now,
         "c": [r["id"] for r in rows], "j": [r["jti"] for r in rows], "p": [r["pseudonym"] for r in rows],
         "k": [r["perk"] for r in rows], "s": [r["scanned_at"] for r in rows]})


def _flag_replays(jtis: list[str]) -> None:
    """Flag every row of a jti accepted at more than one venue, in its own transaction *after* the batch
    committed: of two syncs racing with one copied code, the one that commits second checks after the
    first committed, so it sees both rows (checked inside each transaction, neither would)."""
    try:
        _flag(jtis)
    except DBAPIError:  # the batch is stored; a citizen's history still computes replays when it is read
        db.session.rollback()
        logging.getLogger("perkpass.kiosk").warning("replay flagging failed; the report may miss this batch",
                                                    exc_info=True)


def _flag(jtis: list[str]) -> None:
    multi = sorted(db.session.scalars(
        select(Redemption.jti).where(_among(Redemption.jti, jtis, "jtis")).group_by(Redemption.jti)
        .having(func.count(func.distinct(Redemption.venue_id)) > 1)))
    if multi:
        db.session.execute(update(Redemption).where(_among(Redemption.jti, multi, "multi"),
                                                    Redemption.cross_venue_replay.is_(False))
                           .values(cross_venue_replay=True))
    db.session.commit()


def _ingest(device: Device, items: list[dict], now: int) -> dict:
    ids = sorted({it["id"] for it in items})
    existing = set(db.session.scalars(select(Redemption.client_id).where(
        Redemption.device_id == device.id, _among(Redemption.client_id, ids, "ids")))) if ids else set()
    refused = dict(db.session.execute(select(RedemptionRejection.client_id, RedemptionRejection.reason).where(
        RedemptionRejection.device_id == device.id, _among(RedemptionRejection.client_id, ids, "ids"))).all()) \
        if ids else {}
    facts = venue_facts(device, now)
    certificates = _certificates_named(items)
    catalogue = get_catalogue()
    results, accepted, duplicates, rejected = [], 0, 0, 0
    answered: dict[str, dict] = {}
    new_rows, new_rejections = [], []
    for it in items:
        cid = it["id"]
        if cid in answered:  # the same id twice in one batch: the second is a re-send of the first
            first = answered[cid]
            results.append(dict(first, status="duplicate") if first["status"] == "accepted" else dict(first))
            duplicates += first["status"] == "accepted"
            rejected += first["status"] == "rejected"
            continue
        if cid in existing:
            out = {"id": cid, "status": "duplicate"}
            duplicates += 1
        elif cid in refused:
            out = {"id": cid, "status": "rejected", "reason": refused[cid]}
            rejected += 1
        elif (reason := check_item(it, facts, certificates, catalogue)) is not None:
            new_rejections.append(RedemptionRejection(client_id=cid, device_id=device.id, reason=reason,
                                                      received_at=now))
            out = {"id": cid, "status": "rejected", "reason": reason}
            rejected += 1
        else:
            new_rows.append(it)
            out = {"id": cid, "status": "accepted"}
            accepted += 1
        answered[cid] = out
        results.append(out)
    if new_rejections:
        db.session.add_all(new_rejections)
        db.session.flush()
    if new_rows:
        _store(new_rows, device, facts.audience, now)
    device.last_seen_at = now
    db.session.commit()
    if new_rows:
        _flag_replays(sorted({r["jti"] for r in new_rows}))
    return {"results": results, "accepted": accepted, "duplicates": duplicates, "rejected": rejected}


# ---------------------------------------------------------------- PostgreSQL: the batch in one statement
#
# The upload is the busiest write of a city (docs/deploy.md: one 100-item batch per kiosk and sync). Through the
# ORM it took nine round trips and ~10 ms of CPU; here it takes three single statements on this thread's
# autocommit connection (services/read_conn.py), each prepared once per connection and atomic by itself:
#   1. the venue's facts and the issuer's first key time (plus, for PP2 items only, the certificates named);
#   2. the batch itself: the items go as one JSON parameter; the statement reads which client ids this kiosk
#      already sent (stored or refused), inserts the new accepted ones and the new refusals (ON CONFLICT DO
#      NOTHING: a retry racing its own first attempt), stamps the kiosk's last_seen_at, and returns what it
#      found and did, from which each item's answer follows;
#   3. after it committed, the cross-venue replay flag (why after: _flag_replays).
# Statements 2 and 3 are not prepared: PostgreSQL plans them for each batch (~0.1 ms of its CPU). Prepared, they
# kept the plan chosen while the table was empty, a sequential scan of redemptions per batch, until autovacuum
# analyzed it (a new deployment; every benchmark run). 1 and the certificates are primary-key lookups.

_PG_FACTS = ("SELECT v.audience, v.perk_codes::text, v.created_at, "
             "(SELECT min(k.created_at) FROM signing_keys k WHERE k.role = 'signing') "
             "FROM venues v WHERE v.id = $1::integer")

_PG_CERTS = ("SELECT cert_id, audience, perks, not_before, not_after FROM perk_certificates "
             "WHERE cert_id = ANY($1::varchar[])")

# $1 items [[client id, jti, pseudonym, perk, scanned_at, refusal reason or null]], $2 device, $3 venue,
# $4 audience, $5 now. Every part of one statement sees the same snapshot: "done" and "refused" are what was
# committed before it began; a concurrent first attempt of the same items makes the inserts wait for it and
# then skip its rows. The answer lists only the exceptions, so a plain new batch returns no row: 'd' stored
# before, 'r' refused before (with the reason), 'a' accepted here but stored meanwhile by a concurrent attempt
# (a duplicate), 'x' refused here but refused meanwhile by a concurrent attempt (its reason is the one kept).
_PG_INGEST = """
WITH t AS (
  SELECT (x->>0)::varchar AS c, x->>1 AS j, x->>2 AS p, x->>3 AS k, (x->>4)::bigint AS s, x->>5 AS r
  FROM json_array_elements($1::json) AS x
), done AS (  -- "= ANY(ARRAY(...))": both columns of the unique index bound, whatever the kiosk sent before
  SELECT client_id FROM redemptions WHERE device_id = $2::integer AND client_id = ANY(ARRAY(SELECT c FROM t))
), refused AS (
  SELECT client_id, reason FROM redemption_rejections
  WHERE device_id = $2::integer AND client_id = ANY(ARRAY(SELECT c FROM t))
), fresh AS (
  SELECT * FROM t WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.client_id = t.c)
                    AND NOT EXISTS (SELECT 1 FROM refused WHERE refused.client_id = t.c)
), ins AS (
  INSERT INTO redemptions (client_id, device_id, venue_id, audience, jti, pseudonym, perk, scanned_at, received_at,
                           cross_venue_replay)
  SELECT c, $2::integer, $3::integer, $4::varchar, j, p, k, s, $5::bigint, false FROM fresh WHERE r IS NULL
  ON CONFLICT (device_id, client_id) DO NOTHING RETURNING client_id
), rej AS (
  INSERT INTO redemption_rejections (client_id, device_id, reason, received_at)
  SELECT c, $2::integer, r, $5::bigint FROM fresh WHERE r IS NOT NULL
  ON CONFLICT (device_id, client_id) DO NOTHING RETURNING client_id
), seen AS (
  UPDATE devices SET last_seen_at = $5::bigint WHERE id = $2::integer RETURNING id
)
SELECT 'd', client_id, NULL FROM done
UNION ALL SELECT 'r', client_id, reason FROM refused
UNION ALL SELECT 'a', c, NULL FROM fresh WHERE r IS NULL AND c NOT IN (SELECT client_id FROM ins)
UNION ALL SELECT 'x', c, NULL FROM fresh WHERE r IS NOT NULL AND c NOT IN (SELECT client_id FROM rej)
"""

_PG_REFUSED = ("SELECT client_id, reason FROM redemption_rejections "
               "WHERE device_id = $1::integer AND client_id = ANY($2::varchar[])")

# The replay flag in one statement: every row of a jti of this batch that is now stored at more than one venue.
# Each jti is counted through the jti index by a subquery of its own: planned as "jti = ANY(100 values)", a
# table without statistics yet (a new deployment) is estimated half-matched and read whole.
_PG_FLAG = ("UPDATE redemptions SET cross_venue_replay = true WHERE jti = ANY(ARRAY("
            "SELECT a.jti FROM unnest($1::varchar[]) AS a(jti) "
            "WHERE (SELECT count(DISTINCT r.venue_id) FROM redemptions r WHERE r.jti = a.jti) > 1"
            ")) AND NOT cross_venue_replay")


@dataclass(frozen=True)
class _Certificate:
    """The fields of a perk certificate :func:`check_item` reads (the PostgreSQL path reads no ORM objects)."""
    cert_id: str
    audience: str
    perks: str
    not_before: int
    not_after: int


_PLAIN = re.compile(r"[A-Za-z0-9_-]*\Z")


def _pg_array(values: list[str]) -> str:
    """A PostgreSQL array literal of strings, each element quoted (so none reads as NULL). Ids and jtis are
    base64url or UUIDs: joined at once; anything else has its quotes and backslashes escaped."""
    if _PLAIN.match("".join(values)):
        return '{"' + '","'.join(values) + '"}' if values else "{}"
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _ingest_pg(device: Device, items: list[dict], now: int) -> dict:
    from . import read_conn
    engine = db.engine
    device_id, venue_id = device.id, device.venue_id
    facts_row = read_conn.fetch_prepared(engine, "perkpass_kiosk_facts", _PG_FACTS, (str(venue_id),))
    audience, perk_codes, created_at, first_key = facts_row[0]
    skew = int(current_app.config["PERKPASS_KIOSK_CLOCK_SKEW"])
    facts = VenueFacts(audience=audience, perks=frozenset(json.loads(perk_codes) or ()),
                       earliest=max(int(created_at), int(first_key or 0)) - skew, latest=now + skew)
    first: dict[str, dict] = {}  # each client id's first item in the batch (a later one is a re-send of it)
    for it in items:
        first.setdefault(it["id"], it)
    unique = list(first.values())
    # a PP2 jti is "<16 chars>-<slot>", longer than a PP1 one (16): only those are matched for a certificate id
    cert_ids = sorted({m.group(1) for it in unique if len(it["jti"]) > 17 and (m := PP2_JTI_RE.match(it["jti"]))})
    certificates = {}
    if cert_ids:
        certificates = {r[0]: _Certificate(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in read_conn.fetch_prepared(
            engine, "perkpass_kiosk_certs", _PG_CERTS, (_pg_array(cert_ids),))}
    reasons = dict(zip(first, check_items(unique, facts, certificates), strict=True))
    rows = json.dumps([[it["id"], it["jti"], it["pseudonym"], it["perk"], it["scanned_at"], reasons[it["id"]]]
                       for it in unique], separators=(",", ":"))
    found = read_conn.fetch_prepared(engine, None, _PG_INGEST,  # planned each time: see _ingest_pg's comment
                                     (rows, str(device_id), str(venue_id), audience, str(now)), retry=False)
    existing, refused, stored_meanwhile, refused_meanwhile = set(), {}, set(), []
    for kind, cid, reason in found:
        if kind == "d":
            existing.add(cid)
        elif kind == "r":
            refused[cid] = reason
        elif kind == "a":
            stored_meanwhile.add(cid)
        else:
            refused_meanwhile.append(cid)
    if refused_meanwhile:
        refused.update(read_conn.fetch_prepared(engine, None, _PG_REFUSED,
                                                (str(device_id), _pg_array(refused_meanwhile))))
    answers: dict[str, dict] = {}  # each client id's answer
    for cid, reason in reasons.items():
        if cid in existing or cid in stored_meanwhile:  # stored before, or meanwhile by a concurrent attempt
            answers[cid] = {"id": cid, "status": "duplicate"}
        elif cid in refused:
            answers[cid] = {"id": cid, "status": "rejected", "reason": refused[cid]}
        elif reason is not None:
            answers[cid] = {"id": cid, "status": "rejected", "reason": reason}
        else:
            answers[cid] = {"id": cid, "status": "accepted"}
    if len(answers) == len(items):  # no id twice: the answers in the batch's order
        results = list(answers.values())
    else:  # the same id again in one batch is a re-send of the first: a stored one is a duplicate now
        results, seen = [], set()
        for it in items:
            one = answers[it["id"]]
            if it["id"] not in seen:
                seen.add(it["id"])
                results.append(one)
            else:
                results.append(dict(one, status="duplicate") if one["status"] == "accepted" else dict(one))
    # counted as _ingest counts: a repeated id adds to the duplicates when its first was accepted, to the
    # rejected when its first was rejected, to neither when its first was a duplicate
    accepted = sum(1 for a in answers.values() if a["status"] == "accepted")
    rejected = sum(1 for r in results if r["status"] == "rejected")
    duplicates = sum(1 for a in answers.values() if a["status"] == "duplicate") + (
        sum(1 for it in items if answers[it["id"]]["status"] == "accepted") - accepted if len(results) > len(answers)
        else 0)
    new_jtis = sorted({first[cid]["jti"] for cid, a in answers.items() if a["status"] == "accepted"})
    if new_jtis:
        try:
            read_conn.fetch_prepared(engine, None, _PG_FLAG, (_pg_array(new_jtis),), retry=False)
        except Exception:  # the batch is stored; a citizen's history computes replays itself
            logging.getLogger("perkpass.kiosk").warning("replay flagging failed; the report may miss this batch",
                                                        exc_info=True)
    return {"results": results, "accepted": accepted, "duplicates": duplicates, "rejected": rejected}


def replay_report(limit: int = 200) -> list[dict]:
    """jtis accepted at more than one venue (a copied code used twice), newest first (by each code's
    latest scan).

    Walks the rows ingest flagged (``cross_venue_replay``) newest first, through a partial index that
    holds only them, until ``limit`` codes are found, then reads those codes' rows: the cost grows with
    ``limit``, not with the table (docs/deploy.md has the plans at 5 million rows). It reads the replica
    when one is configured (read_conn.reports_engine)."""
    from .read_conn import reports_engine
    on_reports = {"bind": reports_engine()}
    jtis: list[str] = []
    seen: set[str] = set()
    page, after = max(4 * limit, 100), None
    while len(jtis) < limit:
        # the bare column, not "IS TRUE": PostgreSQL only uses the partial index for its own predicate
        q = select(Redemption.jti, Redemption.scanned_at, Redemption.id).where(Redemption.cross_venue_replay)
        if after is not None:  # keyset paging: a code scanned many times may fill a page alone
            q = q.where(tuple_(Redemption.scanned_at, Redemption.id) < after)
        rows = db.session.execute(q.order_by(Redemption.scanned_at.desc(), Redemption.id.desc()).limit(page),
                                  bind_arguments=on_reports).all()
        for jti, _at, _id in rows:
            if jti not in seen and len(jtis) < limit:
                seen.add(jti)
                jtis.append(jti)
        if len(rows) < page:
            break
        after = (rows[-1][1], rows[-1][2])
    scans: dict[str, list] = {}
    if jtis:
        for r in db.session.execute(
                select(Redemption.jti, Redemption.venue_id, Venue.name, Device.public_id, Redemption.perk,
                       Redemption.scanned_at, Redemption.pseudonym)
                .join(Venue, Venue.id == Redemption.venue_id).join(Device, Device.id == Redemption.device_id)
                .where(Redemption.cross_venue_replay, _among(Redemption.jti, jtis, "jtis"))
                .order_by(Redemption.scanned_at, Redemption.id), bind_arguments=on_reports):
            scans.setdefault(r[0], []).append(r[1:])
    out = []
    for jti in jtis:
        rows = scans.get(jti, [])
        if len({r[0] for r in rows}) < 2:  # flagged rows always span venues; a venue deleted since may not
            continue
        out.append({
            "jti": jti, "redemptions": len(rows), "first_scanned_at": rows[0][4], "last_scanned_at": rows[-1][4],
            "venues": sorted({r[0] for r in rows}),
            "scans": [{"venue_id": r[0], "venue_name": r[1], "device_id": r[2], "perk": r[3], "scanned_at": r[4],
                       "pseudonym": r[5]} for r in rows],
        })
    return out


def for_citizen(public_id: str, limit: int = 200) -> list[dict]:
    """Where the citizen's codes were used, computed from their pairwise pseudonyms."""
    from .issuance import pseudonyms_of
    audiences = set(get_catalogue().audiences) | {a for (a,) in db.session.execute(select(Venue.audience).distinct())}
    days = int(current_app.config.get("PERKPASS_RETENTION_DAYS", 180)) + 1  # nothing older is kept anyway
    pseudonyms = pseudonyms_of(public_id, audiences, int(time.time()), days)
    # PP2 codes carry a fresh certificate id instead of a pseudonym: the backend alone knows whose it is
    from .certificates import cert_ids_of
    from ..models import Citizen
    citizen_id = db.session.scalars(select(Citizen.id).where(Citizen.public_id == public_id)).first()
    if citizen_id is not None:
        pseudonyms += cert_ids_of(citizen_id)
    catalogue = get_catalogue()
    rows = db.session.execute(
        select(Redemption.client_id, Redemption.perk, Redemption.scanned_at, Redemption.audience, Venue.id,
               Venue.name, Redemption.jti, Venue.name_zh)
        .join(Venue, Venue.id == Redemption.venue_id)
        .where(_among(Redemption.pseudonym, pseudonyms, "pseudonyms"))
        # "+ 0": sort the citizen's own rows (found by pseudonym) rather than walk the scan-time index of
        # the whole table hoping to meet 200 of them soon (a few dozen rows among millions: a full scan)
        .order_by((Redemption.scanned_at + 0).desc(), Redemption.id.desc()).limit(limit)).all()
    # computed at read time (not only the flag stored at ingest), and only for the rows shown
    replayed = set(db.session.scalars(
        select(Redemption.jti).where(_among(Redemption.jti, sorted({r[6] for r in rows}), "jtis"))
        .group_by(Redemption.jti).having(func.count(func.distinct(Redemption.venue_id)) > 1))) if rows else set()
    return [{
        "id": r[0], "perk": r[1],
        "perk_title": dict(catalogue.perks[r[1]].title) if r[1] in catalogue.perks else {"en": r[1], "zh-CN": r[1]},
        "scanned_at": r[2], "audience": r[3], "venue": {"id": r[4], "name": r[5], "name_zh": r[7]},
        "flagged_replay": r[6] in replayed,
    } for r in rows]
