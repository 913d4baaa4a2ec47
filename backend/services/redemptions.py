"""Redemption batches from kiosks, the cross-venue replay report and a citizen's own history.

A batch is handled in one way whatever the database (:func:`ingest`): the venue's facts and the certificates the
batch names are read, every item is checked (:func:`check_items`), the batch is written by a :class:`Storage`,
and each item's answer follows from what the write found (:func:`_answer`). Only the statements differ between
the two storages: :class:`PostgresStorage` sends the batch as one statement, :class:`SessionStorage` (SQLite, and
the reference the PostgreSQL statements are tested against) goes through the session. The wire format, the
outcomes and the refusal reasons are :mod:`partner_sdk.upload`'s, which the kiosk imports too.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import bindparam, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

from partner_sdk import pp2
from partner_sdk.format import MAX_LEEWAY
from partner_sdk.upload import (
    PP1_JTI_RE, PP1_PSEUDONYM_RE, PP2_JTI_RE, PP3_JTI_RE, PP3_PSEUDONYM, BatchAnswer, ItemResult, Outcome, Reason,
    RedemptionItem, certificate_named,
)

from ..settings import settings
from ..extensions import db
from ..models import Device, PerkCertificate, Redemption, RedemptionRejection, SigningKey, Venue
from .errors import InvalidInput
from .perks import Catalogue, get_catalogue

log = logging.getLogger("perkpass.kiosk")

# A PP2 presentation is accepted within the verifier's window (at most this much) of the kiosk's clock
PRESENTATION_TOLERANCE = pp2.MAX_PRESENTATION_WINDOW + MAX_LEEWAY


@dataclass(frozen=True)
class VenueFacts:
    """What every item of one batch is checked against, read once per batch."""
    audience: str
    perks: frozenset[str]
    earliest: int  # nothing could be scanned here before the venue and the issuer's first key existed
    latest: int    # the server clock plus the kiosk clock skew allowed

    @classmethod
    def read(cls, audience: str, perk_codes: Sequence[str] | None, venue_created_at: int, first_key_at: int | None,
             now: int, skew: int) -> VenueFacts:
        return cls(audience=audience, perks=frozenset(perk_codes or ()),
                   earliest=max(int(venue_created_at), int(first_key_at or 0)) - skew, latest=now + skew)


@dataclass(frozen=True)
class Certificate:
    """The fields of a PP2 perk certificate the checks read (either storage reads these, no ORM object)."""
    cert_id: str
    audience: str
    perks: str  # comma-separated
    not_before: int
    not_after: int


def check_item(item: RedemptionItem, facts: VenueFacts, certificates: Mapping[str, Certificate],
               catalogue: Catalogue | None = None) -> Reason | None:
    """The reason an uploaded redemption is refused, or None when it is plausible at this venue.

    ``certificates``: the PP2 certificates the batch names, by id (absent = unknown). ``catalogue``: the perk
    catalogue (``get_catalogue()`` when not given)."""
    return check_items([item], facts, certificates, catalogue)[0]


def check_items(items: Sequence[RedemptionItem], facts: VenueFacts, certificates: Mapping[str, Certificate],
                catalogue: Catalogue | None = None) -> list[Reason | None]:
    """:func:`check_item` for each item of a batch, in order. The catalogue is read once and a PP1 code's perk
    (the same for most of a batch) judged once per perk: ~1 µs per item instead of ~2."""
    catalogue = catalogue or get_catalogue()
    latest, earliest, audience, offered = facts.latest, facts.earliest, facts.audience, facts.perks
    pp2_match, pp1_jti, pp1_pseudonym = PP2_JTI_RE.match, PP1_JTI_RE.match, PP1_PSEUDONYM_RE.match
    pp3_jti = PP3_JTI_RE.match
    pp1_perk: dict[str, Reason | None] = {}  # a PP1 code's perk -> its reason (it depends on nothing else)
    out: list[Reason | None] = []
    for item in items:
        jti, perk, at = item["jti"], item["perk"], item["scanned_at"]
        if at > latest:
            out.append(Reason.SCANNED_IN_FUTURE)
            continue
        if at < earliest:
            out.append(Reason.SCANNED_BEFORE_POSSIBLE)
            continue
        pp2_id = pp2_match(jti)
        if pp2_id is None:
            # PP1, or PP3 (issue 23: a per-code id and no pseudonym); both are judged by their perk alone
            if not pp1_jti(jti):
                if not pp3_jti(jti):
                    out.append(Reason.MALFORMED_JTI)
                    continue
                nym_ok = item["pseudonym"] == PP3_PSEUDONYM
            else:
                nym_ok = pp1_pseudonym(item["pseudonym"]) is not None
            if not nym_ok:
                out.append(Reason.MALFORMED_PSEUDONYM)
            elif perk in pp1_perk:
                out.append(pp1_perk[perk])
            else:
                known = catalogue.perks.get(perk)
                reason = (Reason.UNKNOWN_PERK if known is None else Reason.WRONG_AUDIENCE
                          if known.audience != audience else Reason.PERK_NOT_OFFERED if perk not in offered else None)
                out.append(pp1_perk.setdefault(perk, reason))
            continue
        out.append(_pp2_reason(item, pp2_id, facts, certificates))
    return out


def _pp2_reason(item: RedemptionItem, pp2_id: re.Match[str], facts: VenueFacts,
                certificates: Mapping[str, Certificate]) -> Reason | None:
    perk, at = item["perk"], item["scanned_at"]
    cert_id, slot = pp2_id.group(1), int(pp2_id.group(2))
    if item["pseudonym"] != cert_id:
        return Reason.MALFORMED_PSEUDONYM
    cert = certificates.get(cert_id)
    if cert is None:
        return Reason.UNKNOWN_CERTIFICATE
    if cert.audience != facts.audience:
        return Reason.WRONG_AUDIENCE
    if perk not in cert.perks.split(","):
        return Reason.PERK_NOT_CERTIFIED
    if perk not in facts.perks:
        return Reason.PERK_NOT_OFFERED
    slot_start = slot * pp2.SLOT_SECONDS
    if slot_start + pp2.SLOT_SECONDS <= cert.not_before - MAX_LEEWAY or slot_start >= cert.not_after + MAX_LEEWAY:
        return Reason.OUTSIDE_CERTIFICATE_VALIDITY
    if not slot_start - PRESENTATION_TOLERANCE <= at < slot_start + pp2.SLOT_SECONDS + PRESENTATION_TOLERANCE:
        return Reason.SCAN_TIME_MISMATCH
    return None


# ---------------------------------------------------------------- one batch, whatever the database

@dataclass(frozen=True)
class Written:
    """What a storage found while writing a batch: the exceptions to "stored as checked". A plain new batch
    finds nothing."""
    stored_before: frozenset[str]         # client ids this kiosk sent and had stored before
    refused_before: Mapping[str, str]     # client ids refused before, with the reason they got then
    stored_meanwhile: frozenset[str]      # accepted here, but a concurrent attempt stored them first
    refused_meanwhile: Mapping[str, str]  # refused here, but refused first by a concurrent attempt: its reason


class Storage(Protocol):
    """Where a batch is read and written. The two implementations answer every batch alike (a test sends random
    batches through both); the checks and the answers are :func:`ingest`'s, not theirs."""

    def venue_facts(self, venue_id: int, now: int, skew: int) -> VenueFacts: ...

    def certificates(self, cert_ids: list[str]) -> dict[str, Certificate]: ...

    def write(self, device_id: int, venue_id: int, audience: str, items: list[RedemptionItem],
              reasons: Mapping[str, Reason | None], now: int) -> Written:
        """Store the new accepted items and the new refusals (``reasons[id]`` None = accepted), each client id at
        most once per device even against a concurrent attempt, stamp the kiosk's last_seen_at, and commit."""
        ...

    def flag_replays(self, jtis: list[str]) -> None:
        """After the batch committed: flag every row of these jtis now stored at more than one venue (why after:
        of two syncs racing with one copied code, the one that commits second then sees both rows). A failure
        is logged, never raised: the batch is stored, and a citizen's history computes replays when read."""
        ...


def storage() -> Storage:
    """The storage of the session's database."""
    return POSTGRES if db.session.get_bind().dialect.name == "postgresql" else SESSION


def ingest(device: Device, items: list[RedemptionItem], now: int, *, store: Storage | None = None) -> BatchAnswer:
    """Check and store a batch; answer per item accepted / duplicate / rejected (with a reason).

    Each item is checked against the kiosk's venue (audience, perks it offers), the certificate a PP2 code
    names, a plausible time and strict identifier formats (:func:`check_items`). Idempotent by (device, client
    id): a re-sent item gets its first answer again (an accepted one keeps its original scan time, a rejected
    one its reason, even if the check would now pass). A rejected item is not stored as a redemption, so no
    citizen ever sees it. A jti also redeemed at another venue is flagged as a replay. Two attempts of one batch
    racing each other (a kiosk retrying after a timeout) store each item once; the later one answers the
    earlier one's items as that one decided them. A batch over this backend's PERKPASS_BATCH_MAX is
    :class:`InvalidInput` (nothing of it is stored)."""
    most = settings().batch_max  # at most partner_sdk.upload.MAX_ITEMS (the schema's)
    if len(items) > most:
        raise InvalidInput("Too many redemptions in one batch.", {"redemptions": [f"At most {most}."]})
    store = store or storage()
    device_id, venue_id = device.id, device.venue_id  # read before the write commits (it expires ORM objects)
    facts = store.venue_facts(venue_id, now, settings().kiosk_clock_skew)
    first: dict[str, RedemptionItem] = {}  # each client id's first item (a later one in the batch is a re-send)
    for it in items:
        first.setdefault(it["id"], it)
    unique = list(first.values())
    cert_ids = sorted({c for it in unique if (c := certificate_named(it["jti"])) is not None})
    certificates = store.certificates(cert_ids) if cert_ids else {}
    reasons = dict(zip(first, check_items(unique, facts, certificates), strict=True))
    written = store.write(device_id, venue_id, facts.audience, unique, reasons, now)
    answer, accepted_ids = _answer(items, reasons, written)
    if accepted_ids:
        store.flag_replays(sorted({first[cid]["jti"] for cid in accepted_ids}))
    return answer


def _answer(items: list[RedemptionItem], reasons: Mapping[str, Reason | None],
            written: Written) -> tuple[BatchAnswer, list[str]]:
    """Each item's answer, in the batch's order, and the client ids stored now."""
    answers: dict[str, ItemResult] = {}  # each client id's answer
    for cid, reason in reasons.items():
        if cid in written.stored_before or cid in written.stored_meanwhile:
            answers[cid] = {"id": cid, "status": Outcome.DUPLICATE}
        elif (earlier := written.refused_before.get(cid) or written.refused_meanwhile.get(cid)) is not None:
            answers[cid] = {"id": cid, "status": Outcome.REJECTED, "reason": earlier}
        elif reason is not None:
            answers[cid] = {"id": cid, "status": Outcome.REJECTED, "reason": reason}
        else:
            answers[cid] = {"id": cid, "status": Outcome.ACCEPTED}
    accepted_ids = [cid for cid, a in answers.items() if a["status"] is Outcome.ACCEPTED]
    accepted = len(accepted_ids)
    duplicates = sum(1 for a in answers.values() if a["status"] is Outcome.DUPLICATE)
    if len(answers) == len(items):  # no id twice: the answers in the batch's order
        results = list(answers.values())
    else:  # the same id again in one batch is a re-send of the first: a stored one is a duplicate now
        results, seen = [], set()
        for it in items:
            one = answers[it["id"]]
            if it["id"] not in seen:
                seen.add(it["id"])
                results.append(one)
            elif one["status"] is Outcome.ACCEPTED:
                results.append({"id": one["id"], "status": Outcome.DUPLICATE})
                duplicates += 1  # a repeat of an accepted item adds to the duplicates ...
            else:
                results.append(one)
    # ... and of a rejected one to the rejected; a repeat of a duplicate adds to neither
    rejected = sum(1 for r in results if r["status"] is Outcome.REJECTED)
    return {"results": results, "accepted": accepted, "duplicates": duplicates, "rejected": rejected}, accepted_ids


def _among(column, values, name: str):
    """``column IN values``. On PostgreSQL one array parameter (``= ANY``): the statement's text is then the
    same for every batch, so the driver's statement cache keeps it (a 100-value IN list is re-parsed by
    psycopg for each batch, ~3 ms, and a citizen's history names ~1,500 pseudonyms)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == func.any(bindparam(name, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


# ---------------------------------------------------------------- through the session (SQLite; the reference)

class SessionStorage:
    """The batch through the SQLAlchemy session, in one transaction: what SQLite runs. It mirrors the PostgreSQL
    statement step by step (read what this kiosk sent before, insert the rest with ON CONFLICT DO NOTHING, stamp
    last_seen_at), so a concurrent attempt is met the same way: a row it stored first is not inserted again."""

    def venue_facts(self, venue_id: int, now: int, skew: int) -> VenueFacts:
        venue = db.session.get_one(Venue, venue_id)
        first_key = db.session.scalar(select(func.min(SigningKey.created_at)).where(SigningKey.role == "signing"))
        return VenueFacts.read(venue.audience, venue.perk_codes, venue.created_at, first_key, now, skew)

    def certificates(self, cert_ids: list[str]) -> dict[str, Certificate]:
        pc = PerkCertificate
        rows = db.session.execute(select(pc.cert_id, pc.audience, pc.perks, pc.not_before, pc.not_after)
                                  .where(pc.cert_id.in_(cert_ids)))
        return {r[0]: Certificate(*r) for r in rows}

    def write(self, device_id: int, venue_id: int, audience: str, items: list[RedemptionItem],
              reasons: Mapping[str, Reason | None], now: int) -> Written:
        ids = list(reasons)
        rejection = RedemptionRejection
        stored = frozenset(db.session.scalars(select(Redemption.client_id).where(
            Redemption.device_id == device_id, _among(Redemption.client_id, ids, "ids"))))
        refused = {cid: reason for cid, reason in db.session.execute(select(rejection.client_id, rejection.reason)
                   .where(rejection.device_id == device_id, _among(rejection.client_id, ids, "ids")))}
        fresh = [it for it in items if it["id"] not in stored and it["id"] not in refused]
        accept = [it for it in fresh if reasons[it["id"]] is None]
        refuse = [it["id"] for it in fresh if reasons[it["id"]] is not None]
        insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        inserted: set[str] = set()
        if accept:
            table = Redemption.__table__
            inserted = set(db.session.scalars(insert(table).values([
                {"client_id": it["id"], "device_id": device_id, "venue_id": venue_id, "audience": audience,
                 "jti": it["jti"], "pseudonym": it["pseudonym"], "perk": it["perk"], "scanned_at": it["scanned_at"],
                 "received_at": now, "cross_venue_replay": False} for it in accept])
                .on_conflict_do_nothing(index_elements=["device_id", "client_id"]).returning(table.c.client_id)))
        refused_here: set[str] = set()
        if refuse:
            table = rejection.__table__
            refused_here = set(db.session.scalars(insert(table).values([
                {"client_id": cid, "device_id": device_id, "reason": str(reasons[cid]), "received_at": now}
                for cid in refuse])
                .on_conflict_do_nothing(index_elements=["device_id", "client_id"]).returning(table.c.client_id)))
        db.session.execute(update(Device).where(Device.id == device_id).values(last_seen_at=now))
        db.session.commit()
        late = [cid for cid in refuse if cid not in refused_here]
        refused_meanwhile = {cid: reason for cid, reason in db.session.execute(
            select(rejection.client_id, rejection.reason).where(
                rejection.device_id == device_id, _among(rejection.client_id, late, "ids")))} if late else {}
        return Written(stored_before=stored, refused_before=refused,
                       stored_meanwhile=frozenset(it["id"] for it in accept if it["id"] not in inserted),
                       refused_meanwhile=refused_meanwhile)

    def flag_replays(self, jtis: list[str]) -> None:
        try:
            multi = sorted(db.session.scalars(
                select(Redemption.jti).where(_among(Redemption.jti, jtis, "jtis")).group_by(Redemption.jti)
                .having(func.count(func.distinct(Redemption.venue_id)) > 1)))
            if multi:
                db.session.execute(update(Redemption).where(_among(Redemption.jti, multi, "multi"),
                                                            Redemption.cross_venue_replay.is_(False))
                                   .values(cross_venue_replay=True))
            db.session.commit()
        except DBAPIError:
            db.session.rollback()
            log.warning("replay flagging failed; the report may miss this batch", exc_info=True)


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
#   3. after it committed, the cross-venue replay flag (why after: Storage.flag_replays).
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

_PLAIN = re.compile(r"[A-Za-z0-9_-]*\Z")


def _pg_array(values: list[str]) -> str:
    """A PostgreSQL array literal of strings, each element quoted (so none reads as NULL). Ids and jtis are
    base64url or UUIDs: joined at once; anything else has its quotes and backslashes escaped."""
    if _PLAIN.match("".join(values)):
        return '{"' + '","'.join(values) + '"}' if values else "{}"
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


class PostgresStorage:
    """The batch as single statements on this thread's autocommit connection (the comment above)."""

    def venue_facts(self, venue_id: int, now: int, skew: int) -> VenueFacts:
        from . import read_conn
        audience, perk_codes, created_at, first_key = read_conn.fetch_prepared(
            db.engine, "perkpass_kiosk_facts", _PG_FACTS, (str(venue_id),))[0]
        return VenueFacts.read(audience, json.loads(perk_codes), int(created_at),
                               None if first_key is None else int(first_key), now, skew)

    def certificates(self, cert_ids: list[str]) -> dict[str, Certificate]:
        from . import read_conn
        return {r[0]: Certificate(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in read_conn.fetch_prepared(
            db.engine, "perkpass_kiosk_certs", _PG_CERTS, (_pg_array(cert_ids),))}

    def write(self, device_id: int, venue_id: int, audience: str, items: list[RedemptionItem],
              reasons: Mapping[str, Reason | None], now: int) -> Written:
        from . import read_conn
        engine = db.engine
        rows = json.dumps([[it["id"], it["jti"], it["pseudonym"], it["perk"], it["scanned_at"], reasons[it["id"]]]
                           for it in items], separators=(",", ":"))
        found = read_conn.fetch_prepared(engine, None, _PG_INGEST,  # planned each time: see the comment above
                                         (rows, str(device_id), str(venue_id), audience, str(now)), retry=False)
        stored: set[str] = set()
        refused: dict[str, str] = {}
        stored_meanwhile: set[str] = set()
        late: list[str] = []
        for kind, cid, reason in found:
            if kind == "d":
                stored.add(cid)
            elif kind == "r":
                refused[cid] = reason
            elif kind == "a":
                stored_meanwhile.add(cid)
            else:
                late.append(cid)
        refused_meanwhile: dict[str, str] = {cid: reason for cid, reason in read_conn.fetch_prepared(
            engine, None, _PG_REFUSED, (str(device_id), _pg_array(late)))} if late else {}
        return Written(stored_before=frozenset(stored), refused_before=refused,
                       stored_meanwhile=frozenset(stored_meanwhile), refused_meanwhile=refused_meanwhile)

    def flag_replays(self, jtis: list[str]) -> None:
        from . import read_conn
        try:
            read_conn.fetch_prepared(db.engine, None, _PG_FLAG, (_pg_array(jtis),), retry=False)
        except Exception:  # the batch is stored; a citizen's history computes replays itself
            log.warning("replay flagging failed; the report may miss this batch", exc_info=True)


SESSION = SessionStorage()
POSTGRES = PostgresStorage()


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


def pp1_pseudonyms(public_id: str, now: int) -> list[str]:
    """Every PP1 pseudonym a citizen's redemptions can be stored under: one per venue type (the catalogue's and
    any venue's) and UTC day that is kept (PERKPASS_RETENTION_DAYS, and today). Their history reads by these and
    opting out deletes by them (with the PP2 certificate ids, which the caller adds: read, or revoked)."""
    from .issuance import pseudonyms_of
    audiences = set(get_catalogue().audiences) | {a for (a,) in db.session.execute(select(Venue.audience).distinct())}
    days = settings().retention_days + 1  # nothing older is kept anyway
    return pseudonyms_of(public_id, audiences, now, days)


def for_citizen(public_id: str, now: int, limit: int = 200) -> list[dict]:
    """Where the citizen's codes were used, computed from their pairwise pseudonyms."""
    pseudonyms = pp1_pseudonyms(public_id, now)
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
