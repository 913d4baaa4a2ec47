"""Scheme rows, memberships and current scores (with a ledger entry for every change)."""
from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import delete, select, text

from ..extensions import db, rows_changed
from ..models import Citizen, CitizenScheme, LedgerCase, LoginCode, Redemption, Scheme, ScoreEvent
from . import auth as auth_service
from .errors import NotFound, Refused
from .import_codes import import_codes
from .ledger import CaseReason, CaseStatus, Decision, EventKind, EventStatus, append, explain_citizen
from .perks import Catalogue, SchemeConfig, get_catalogue


def sync_schemes(now: int, catalogue: Catalogue | None = None) -> dict:
    """Create or update a ``schemes`` row for every configured scheme. Returns {code: action}."""
    catalogue = catalogue or get_catalogue()
    existing = {s.code: s for s in db.session.scalars(select(Scheme))}
    actions = {}
    for code, cfg in catalogue.schemes.items():
        row = existing.get(code)
        if row is None:
            row = Scheme(code=code, updated_at=now)
            db.session.add(row)
            actions[code] = "created"
        elif row.config_sha256 != cfg.sha256:
            actions[code] = "updated"
        else:
            actions[code] = "unchanged"
            continue
        row.name_en, row.name_zh = cfg.name["en"], cfg.name["zh-CN"]
        row.min_score, row.max_score, row.base_score = cfg.min, cfg.max, cfg.base
        row.config_sha256, row.updated_at = cfg.sha256, now
    db.session.commit()
    return actions


def scheme_row(code: str) -> Scheme | None:
    return db.session.scalars(select(Scheme).where(Scheme.code == code)).first()


def set_score(citizen: Citizen, scheme_code: str, score: int, *, now: int, source: str, kind: str = EventKind.IMPORT,
              reason: str | None = None, occurred_at: int | None = None) -> tuple[CitizenScheme, bool | str]:
    """Set the current score (creating the membership if needed). Returns (membership, changed), where
    changed is True, False or "pending" (a fall held for review)."""
    scheme = scheme_row(scheme_code)
    if scheme is None:
        raise ValueError(f"unknown scheme {scheme_code!r}")
    if not scheme.min_score <= score <= scheme.max_score:
        raise ValueError(f"score must be within {scheme.min_score}..{scheme.max_score}")
    m = db.session.scalars(select(CitizenScheme).where(CitizenScheme.citizen_id == citizen.id,
                                                       CitizenScheme.scheme_id == scheme.id)).first()
    if m is None:
        m = CitizenScheme(citizen_id=citizen.id, scheme_id=scheme.id, score=score, joined_at=now, updated_at=now)
        db.session.add(m)
        db.session.flush()
        db.session.add(ScoreEvent(membership_id=m.id, kind=kind, delta=score, score_after=score, source=source,
                                  reason=reason, occurred_at=occurred_at or now, recorded_at=now, confirmed_at=now))
        return m, True
    if kind == EventKind.IMPORT:
        return _import_into(m, score, now=now, source=source, reason=reason, occurred_at=occurred_at)
    if m.score == score:
        return m, False
    db.session.add(ScoreEvent(membership_id=m.id, kind=kind, delta=score - m.score, score_after=score,
                              source=source, reason=reason, occurred_at=occurred_at or now, recorded_at=now,
                              confirmed_at=now))
    m.score, m.updated_at = score, now
    return m, True


def _import_into(m: CitizenScheme, score: int, *, now: int, source: str, reason: str | None,
                 occurred_at: int | None) -> tuple[CitizenScheme, bool | str]:
    """An imported absolute score for an existing membership. A computer never lowers a score alone
    (Suzhou): a decrease waits for a reviewer like a negative provider event (``pending_review``, a
    review case; the citizen sees it pending), an increase applies at once. A later import supersedes
    imports still waiting (the newest import is the platform's word); re-importing the score that is
    already waiting changes nothing. Returns (membership, True | "pending" | False)."""
    waiting = list(db.session.scalars(select(ScoreEvent).where(
        ScoreEvent.membership_id == m.id, ScoreEvent.kind == EventKind.IMPORT,
        ScoreEvent.status == EventStatus.PENDING_REVIEW)))
    if any(m.score + e.delta == score for e in waiting):
        return m, False
    if m.score == score and not waiting:
        return m, False
    for e in waiting:
        e.status = EventStatus.WITHDRAWN
        for c in e.cases:
            if c.status == CaseStatus.OPEN:
                c.status, c.decision, c.decided_at = CaseStatus.DECIDED, Decision.WITHDRAW, now
                c.decision_reason = "Superseded by a later import from the city platform."
    if m.score == score:
        return m, True
    pending = score < m.score
    ev = ScoreEvent(membership_id=m.id, kind=EventKind.IMPORT, delta=score - m.score,
                    score_after=m.score if pending else score,
                    source=source, reason=reason, occurred_at=occurred_at or now, recorded_at=now,
                    status=EventStatus.PENDING_REVIEW if pending else EventStatus.CONFIRMED,
                    confirmed_at=None if pending else now)
    db.session.add(ev)
    if pending:
        db.session.flush()
        db.session.add(LedgerCase(event_id=ev.id, reason=CaseReason.PENDING_REVIEW, status=CaseStatus.OPEN,
                                  opened_at=now))
        return m, "pending"
    m.score, m.updated_at = score, now
    return m, True


def join(citizen: Citizen, scheme_code: str, now: int) -> CitizenScheme:
    """A citizen joins a scheme voluntarily and starts at its base score (NotFound for a scheme the
    catalogue does not have)."""
    if scheme_code not in get_catalogue().schemes:
        raise NotFound("unknown scheme", {"scheme": ["Unknown scheme."]})
    scheme = scheme_row(scheme_code)
    if scheme is None:
        raise ValueError(f"unknown scheme {scheme_code!r}")
    m = db.session.scalars(select(CitizenScheme).where(CitizenScheme.citizen_id == citizen.id,
                                                       CitizenScheme.scheme_id == scheme.id)).first()
    if m is not None:
        return m
    m, _ = set_score(citizen, scheme_code, scheme.base_score, now=now, source="citizen", kind=EventKind.JOIN,
                     reason="joined the scheme at its base score")
    db.session.commit()
    return m


def explain_scheme(citizen_id: int, scheme_code: str, now: int) -> dict:
    """The citizen's own explanation of one scheme's score (the ledger's). NotFound for a scheme the catalogue
    does not have; NotFound ``not_member`` when the citizen has not joined it."""
    if scheme_code not in get_catalogue().schemes:
        raise NotFound("Unknown scheme.")
    found = explain_citizen(citizen_id, now, scheme=scheme_code)
    if not found:
        raise NotFound("You have not joined this scheme.", code="not_member")
    return found[0]


# ------------------------------------------------------------------ operator imports (issue 19)
# An import row is codes, numbers and registered identifiers only: who (a phone or a citizen id), which scheme,
# the score, a registered reason code and a registered source system (backend/services/import_codes.py). There
# is no field for prose, so no prose can be stored, shown or audited; an unknown column refuses the file.
IMPORT_COLUMNS = ("phone", "citizen_id", "scheme", "score", "reason", "source_system")
IMPORT_BATCH_ROWS = 5000    # rows per transaction: one round of bulk statements, short locks on a live system
MAX_LISTED_PROBLEMS = 20    # a refusal lists this many bad rows (enough to fix a file; bounded memory)
CITIZEN_ID_RE = re.compile(r"^c_[0-9a-f]{24}\Z")
SCORE_RE = re.compile(r"^-?[0-9]{1,9}\Z")
SUPERSEDED = "Superseded by a later import from the city platform."


class ImportRefused(Refused):
    """An import refused as a whole: nothing of it was stored. ``details`` maps ``line N`` (a CSV file) or
    ``row N`` (an API request) to ``["field: problem", …]``; a problem never repeats the value it refuses."""

    code = "import_refused"


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    pending_review: int = 0  # decreases waiting for a reviewer (a computer never lowers a score alone)
    skipped_not_enrolled: int = 0

    def to_dict(self) -> dict:
        return {"rows": self.rows, "imported": self.imported, "unchanged": self.unchanged,
                "pending_review": self.pending_review, "skipped_not_enrolled": self.skipped_not_enrolled}


class ImportRow(NamedTuple):
    """A checked row. ``phone`` is the normalised number, kept only while its batch is applied (hashed to
    find the citizen, never stored)."""
    line: int
    scheme: str
    score: int
    reason: str
    source_system: str
    phone: str | None = None
    citizen_id: str | None = None


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


class RowChecker:
    """Checks one row against the configured schemes and the registered codes. Problems name the field
    and what is wrong, never the value (a refused value might be exactly what must not be kept, and
    refusals end up on screens and in logs)."""

    CODE_MEMO = 1000  # (scheme, reason, source system) triples remembered: a file repeats a few of them

    def __init__(self) -> None:
        self.codes = import_codes()
        self.schemes = get_catalogue().schemes
        # the rows memberships point at (init-db and seed create one per configured scheme)
        self.scheme_ids = {code: sid for sid, code in db.session.execute(select(Scheme.id, Scheme.code))}
        self._triples: dict[tuple[str, str, str], tuple[SchemeConfig | None, list[str]]] = {}

    def _codes(self, scheme: str, reason: str, source: str) -> tuple[SchemeConfig | None, list[str]]:
        """The scheme's configuration (None if unknown) and the problems of the three codes together."""
        known = self._triples.get((scheme, reason, source))
        if known is not None:
            return known
        problems = []
        cfg = self.schemes.get(scheme)
        if cfg is None:
            problems.append("scheme: not a configured scheme")
        elif scheme not in self.scheme_ids:
            problems.append("scheme: configured but not set up in the database yet (run flask init-db)")
        if reason not in self.codes.reasons:
            problems.append("reason: not a registered reason code (flask scores codes lists them)")
        system = self.codes.sources.get(source)
        if system is None:
            problems.append("source_system: not a registered source system (flask scores codes lists them)")
        elif cfg is not None and scheme not in system.schemes:
            problems.append(f"source_system: does not serve scheme {scheme}")
        if len(self._triples) < self.CODE_MEMO:
            self._triples[(scheme, reason, source)] = (cfg, problems)
        return cfg, problems

    def check(self, line: int, values: Mapping) -> tuple[ImportRow | None, list[str]]:
        get = values.get
        scheme, reason, source = _text(get("scheme")), _text(get("reason")), _text(get("source_system"))
        cfg, code_problems = self._codes(scheme, reason, source)
        problems: list[str] = []
        phone, cid = _text(get("phone")), _text(get("citizen_id"))
        norm = None
        if phone and cid:
            problems.append("citizen_id: give a phone or a citizen_id, not both")
        elif cid:
            if not CITIZEN_ID_RE.match(cid):
                problems.append("citizen_id: not a citizen id (c_ and 24 hexadecimal digits)")
        elif phone:
            norm = auth_service.normalise_phone(phone)
            if norm is None:
                problems.append("phone: not a valid phone number")
        else:
            problems.append("phone: each row needs a phone or a citizen_id")
        raw = get("score")
        score: int | None = None
        if type(raw) is int:  # the API's strict integer (never a bool)
            score = raw
        elif isinstance(raw, str) and SCORE_RE.match(raw.strip()):
            score = int(raw)
        if score is None:
            problems.append("score: not a whole number")
        elif cfg is not None and not cfg.min <= score <= cfg.max:
            problems.append(f"score: must be within {cfg.min}..{cfg.max} for {scheme}")
        if problems or code_problems:
            return None, problems + code_problems
        assert score is not None
        return ImportRow(line, scheme, score, reason, source, norm, cid or None), []


def read_csv(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of an import file, streamed: ``(line number, {column: text})``. The header must be exactly
    :data:`IMPORT_COLUMNS`, in that order; a header that is not, or a line with another number of fields,
    refuses the file (:class:`ImportRefused`) with its line number."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportRefused("The file is empty.", {"line 1": ["header: missing"]})
        header = [h.strip() for h in header]
        if header != list(IMPORT_COLUMNS):
            problems = [f"column {i}: not one of the documented columns" for i, h in enumerate(header, 1)
                        if h not in IMPORT_COLUMNS]
            problems += [f"{c}: missing column" for c in IMPORT_COLUMNS if c not in header]
            raise ImportRefused("The header must be exactly: " + ",".join(IMPORT_COLUMNS) + ".",
                                {"line 1": problems or ["header: columns in another order"]})
        width = len(IMPORT_COLUMNS)
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue  # a blank line
            if len(fields) != width:
                raise ImportRefused("Nothing was imported: a line has the wrong number of fields.",
                                    {f"line {line}": [f"fields: {len(fields)}, the header has {width}"]})
            yield line, dict(zip(IMPORT_COLUMNS, fields, strict=True))
    except csv.Error:
        raise ImportRefused("Nothing was imported: the file is not valid CSV.",
                            {f"line {reader.line_num}": ["csv: malformed quoting"]}) from None
    except UnicodeDecodeError:
        raise ImportRefused("Nothing was imported: the file is not UTF-8 text.",
                            {f"line {reader.line_num + 1}": ["encoding: not UTF-8"]}) from None


def check_import(rows: Iterable[tuple[int, Mapping]], *, where: str = "line",
                 on_rows: Callable[[int], None] | None = None) -> int:
    """The first pass: check every row, store nothing. Returns the number of rows; raises
    :class:`ImportRefused` listing up to :data:`MAX_LISTED_PROBLEMS` bad rows, each ``{where} N``."""
    checker = RowChecker()
    problems: dict[str, list[str]] = {}
    n = bad = 0
    for line, values in rows:
        n += 1
        _row, errs = checker.check(line, values)
        if errs:
            bad += 1
            if len(problems) < MAX_LISTED_PROBLEMS:
                problems[f"{where} {line}"] = errs
        if on_rows is not None and n % 1000 == 0:
            on_rows(1000)
    if on_rows is not None:
        on_rows(n % 1000)
    if problems:
        raise ImportRefused(f"Nothing was imported: {bad} of {n} rows have problems"
                            + (f" (the first {len(problems)} are listed)." if bad > len(problems) else "."),
                            problems)
    if n == 0:
        raise ImportRefused("Nothing was imported: there are no rows.", {f"{where} 1": ["rows: none"]})
    return n


def apply_import(rows: Iterable[tuple[int, Mapping]], *, now: int, actor: str, where: str = "line",
                 on_rows: Callable[[int], None] | None = None) -> ImportReport:
    """The second pass over rows :func:`check_import` accepted: apply them in batches of
    :data:`IMPORT_BATCH_ROWS`, each one transaction of bulk statements (no statement per row) with one audit
    entry. Rows for people who have not opted in are skipped and never stored. Re-running an import that was
    interrupted is safe: absolute scores already applied come back unchanged."""
    checker = RowChecker()
    report = ImportReport()
    scheme_ids = checker.scheme_ids
    batch: list[ImportRow] = []
    for line, values in rows:
        row, errs = checker.check(line, values)
        if row is None:  # the rows changed since check_import (a file rewritten in between)
            raise ImportRefused("The rows changed after they were checked; the import stopped at this row "
                                "(batches before it were applied; re-run the import).", {f"{where} {line}": errs})
        batch.append(row)
        if len(batch) >= IMPORT_BATCH_ROWS:
            _apply_batch(batch, scheme_ids, report, now=now, actor=actor)
            if on_rows is not None:
                on_rows(len(batch))
            batch = []
    if batch:
        _apply_batch(batch, scheme_ids, report, now=now, actor=actor)
        if on_rows is not None:
            on_rows(len(batch))
    return report


def import_rows(rows: list[dict], *, now: int, actor: str) -> ImportReport:
    """An import given as a list (the operator API): every row checked, then applied; ``row N`` counts from 1."""
    numbered = list(enumerate(rows, start=1))
    check_import(numbered, where="row")
    return apply_import(numbered, now=now, actor=actor, where="row")


def _pg_array(values: Iterable) -> str:
    """A PostgreSQL array literal of integers or of identifiers that need no quoting (hex digests, checked
    citizen ids): one string parameter instead of a list the driver adapts element by element."""
    return "{" + ",".join(map(str, values)) + "}"


def _lookup(conn, table: str, key: str, value: str, keys: Collection[str]) -> dict:
    """``{key: value}`` for the rows of ``table`` whose ``key`` is one of ``keys``, in one statement."""
    if not keys:
        return {}
    if conn.dialect.name == "postgresql":
        sql = f"SELECT {key}, {value} FROM {table} WHERE {key} = ANY(CAST(:keys AS varchar[]))"
        return dict(conn.execute(text(sql), {"keys": _pg_array(keys)}).all())
    out: dict = {}
    items = list(keys)
    for i in range(0, len(items), 900):  # SQLite: bound parameters per statement are limited
        chunk = items[i:i + 900]
        out.update(conn.execute(text(f"SELECT {key}, {value} FROM {table} WHERE {key} IN "
                                     f"({', '.join(f':k{j}' for j in range(len(chunk)))})"),
                                {f"k{j}": v for j, v in enumerate(chunk)}).all())
    return out


def _apply_batch(batch: list[ImportRow], scheme_ids: dict[str, int], report: ImportReport, *, now: int,
                 actor: str) -> None:
    conn = db.session.connection()
    hashes = {r.phone: auth_service.phone_hash(r.phone) for r in batch if r.phone}
    by_hash = _lookup(conn, "citizens", "phone_hash", "id", set(hashes.values()))
    by_public = _lookup(conn, "citizens", "public_id", "id", {r.citizen_id for r in batch if r.citizen_id})
    # (citizen, scheme) -> row; a pair given twice is applied in order, in rounds of distinct pairs
    rounds: list[dict[tuple[int, int], ImportRow]] = []
    for r in batch:
        report.rows += 1
        cid = by_hash.get(hashes[r.phone]) if r.phone else by_public.get(r.citizen_id)
        if cid is None:
            report.skipped_not_enrolled += 1
            continue
        key = (cid, scheme_ids[r.scheme])
        for rnd in rounds:
            if key not in rnd:
                rnd[key] = r
                break
        else:
            rounds.append({key: r})
    events = 0
    for rnd in rounds:
        events += _apply_round(conn, rnd, report, now)
    if events:
        reasons = sorted({r.reason for rnd in rounds for r in rnd.values()})
        sources = sorted({r.source_system for rnd in rounds for r in rnd.values()})
        # one entry per batch: codes and counts only (never a citizen, a phone or a score)
        append(conn, [("operator", actor, "scores.imported", "import_batch", f"{now}",
                       {"events": events, "reasons": reasons, "source_systems": sources})], now)
    db.session.commit()


Change = tuple[int, int, int, ImportRow]  # (membership, delta, score after, row): one import event


def _apply_round(conn, rows: dict[tuple[int, int], ImportRow], report: ImportReport, now: int) -> int:
    """Apply rows with distinct (citizen, scheme) pairs: the rules of :func:`_import_into`, in bulk. Returns
    the number of events written."""
    members: dict[tuple[int, int], tuple[int, int]] = {}  # (citizen, scheme) -> (membership, score)
    # locked until the batch commits, in id order, as a provider's events lock them (ledger ingestion): an event
    # arriving meanwhile waits instead of being overwritten by this batch's scores
    for mid, c, s, score in _select_in(conn, "SELECT id, citizen_id, scheme_id, score FROM citizen_schemes",
                                       "citizen_id", {c for c, _s in rows}, locked=True):
        if (c, s) in rows:
            members[(c, s)] = (mid, score)
    waiting: dict[int, list[tuple[int, int]]] = {}  # membership -> [(event, delta)] of imports waiting
    for eid, mid, delta in _select_in(
            conn, f"SELECT id, membership_id, delta FROM score_events WHERE status = '{EventStatus.PENDING_REVIEW}' "
                  f"AND kind = '{EventKind.IMPORT}'", "membership_id", {m for m, _ in members.values()}):
        waiting.setdefault(mid, []).append((eid, delta))
    new_members: list[tuple[tuple[int, int], ImportRow]] = []
    confirmed: list[Change] = []
    pending: list[Change] = []                # decreases: a reviewer decides (a computer never lowers a score)
    score_updates: list[tuple[int, int]] = []  # (membership, new score)
    superseded: list[int] = []                 # waiting import events a newer row replaces
    for key, r in rows.items():
        if key not in members:
            new_members.append((key, r))
            continue
        mid, current = members[key]
        waits = waiting.get(mid, [])
        if any(current + d == r.score for _e, d in waits) or (current == r.score and not waits):
            report.unchanged += 1
            continue
        superseded.extend(e for e, _d in waits)
        if current == r.score:
            report.imported += 1
        elif r.score < current:
            pending.append((mid, r.score - current, current, r))
            report.pending_review += 1
        else:
            confirmed.append((mid, r.score - current, r.score, r))
            score_updates.append((mid, r.score))
            report.imported += 1
    if superseded:
        _execute_in(conn, "UPDATE score_events SET status = :status", "id", superseded,
                    {"status": EventStatus.WITHDRAWN})
        _execute_in(conn, "UPDATE ledger_cases SET status = :decided, decision = :decision, decided_at = :now, "
                          "decision_reason = :why WHERE status = :open", "event_id", superseded,
                    {"decided": CaseStatus.DECIDED, "decision": Decision.WITHDRAW, "now": now, "why": SUPERSEDED,
                     "open": CaseStatus.OPEN})
    if new_members:
        ids = _insert_members(conn, [(c, s, r.score) for (c, s), r in new_members], now)
        confirmed += [(ids[key], r.score, r.score, r) for key, r in new_members]
        report.imported += len(new_members)
    _insert_events(conn, confirmed, now, EventStatus.CONFIRMED)
    _open_review_cases(conn, _insert_events(conn, pending, now, EventStatus.PENDING_REVIEW), now)
    _set_scores(conn, score_updates, now)
    return len(confirmed) + len(pending)


def _insert_members(conn, members: list[tuple[int, int, int]], now: int) -> dict[tuple[int, int], int]:
    """New memberships ``(citizen, scheme, score)``; their ids by (citizen, scheme)."""
    if conn.dialect.name == "postgresql":
        returned = conn.execute(text(
            "INSERT INTO citizen_schemes (citizen_id, scheme_id, score, joined_at, updated_at) "
            "SELECT c, s, v, :now, :now FROM unnest(CAST(:c AS integer[]), CAST(:s AS integer[]), "
            "CAST(:v AS integer[])) AS t(c, s, v) RETURNING id, citizen_id, scheme_id"),
            {"c": _pg_array(m[0] for m in members), "s": _pg_array(m[1] for m in members),
             "v": _pg_array(m[2] for m in members), "now": now})
    else:
        table = CitizenScheme.__table__
        returned = conn.execute(table.insert().returning(table.c.id, table.c.citizen_id, table.c.scheme_id),
                                [{"citizen_id": c, "scheme_id": s, "score": v, "joined_at": now, "updated_at": now}
                                 for c, s, v in members])
    return {(c, s): mid for mid, c, s in returned.all()}  # fetched at once, not row by row


def _insert_events(conn, changes: list[Change], now: int, status: str) -> list[int]:
    """Insert import events with ``status``; the ids of those pending review (in no particular order: the caller
    only opens one identical review case per id). One statement per (source system, reason) pair, usually one."""
    by_codes: dict[tuple[str, str], list[Change]] = {}
    for ch in changes:
        by_codes.setdefault((ch[3].source_system, ch[3].reason), []).append(ch)
    ids: list[int] = []
    confirmed_at = now if status == EventStatus.CONFIRMED else None
    returning = " RETURNING id" if status == EventStatus.PENDING_REVIEW else ""
    for (source, reason), group in by_codes.items():
        fixed = {"kind": EventKind.IMPORT, "source": source, "reason": reason, "now": now, "status": status,
                 "confirmed_at": confirmed_at}
        if conn.dialect.name == "postgresql":
            result = conn.execute(text(
                "INSERT INTO score_events (membership_id, kind, delta, score_after, source, reason, occurred_at, "
                "recorded_at, status, confirmed_at) SELECT m, :kind, d, a, :source, :reason, :now, :now, :status, "
                "CAST(:confirmed_at AS bigint) FROM unnest(CAST(:m AS integer[]), CAST(:d AS integer[]), "
                "CAST(:a AS integer[])) AS t(m, d, a)" + returning),
                {**fixed, "m": _pg_array(c[0] for c in group), "d": _pg_array(c[1] for c in group),
                 "a": _pg_array(c[2] for c in group)})
        else:
            table = ScoreEvent.__table__
            insert = table.insert().returning(table.c.id) if returning else table.insert()
            result = conn.execute(insert, [
                {"membership_id": m, "kind": EventKind.IMPORT, "delta": d, "score_after": a, "source": source,
                 "reason": reason, "occurred_at": now, "recorded_at": now, "status": status,
                 "confirmed_at": confirmed_at} for m, d, a, _r in group])
        if returning:
            ids += result.scalars().all()
    return ids


def _open_review_cases(conn, event_ids: list[int], now: int) -> None:
    if not event_ids:
        return
    fixed = {"reason": CaseReason.PENDING_REVIEW, "status": CaseStatus.OPEN, "now": now}
    if conn.dialect.name == "postgresql":
        conn.execute(text("INSERT INTO ledger_cases (event_id, reason, status, opened_at) "
                          "SELECT e, :reason, :status, :now FROM unnest(CAST(:e AS integer[])) AS t(e)"),
                     {**fixed, "e": _pg_array(event_ids)})
    else:
        conn.execute(text("INSERT INTO ledger_cases (event_id, reason, status, opened_at) "
                          "VALUES (:e, :reason, :status, :now)"), [{**fixed, "e": e} for e in event_ids])


def _set_scores(conn, updates: list[tuple[int, int]], now: int) -> None:
    if not updates:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("UPDATE citizen_schemes AS m SET score = v.score, updated_at = :now "
                          "FROM unnest(CAST(:ids AS integer[]), CAST(:scores AS integer[])) AS v(id, score) "
                          "WHERE m.id = v.id"),
                     {"ids": _pg_array(m for m, _ in updates), "scores": _pg_array(s for _, s in updates), "now": now})
    else:
        conn.execute(text("UPDATE citizen_schemes SET score = :score, updated_at = :now WHERE id = :id"),
                     [{"id": m, "score": s, "now": now} for m, s in updates])


def _select_in(conn, sql: str, column: str, keys: Collection[int], locked: bool = False) -> list:
    """``sql`` restricted to rows whose ``column`` is one of ``keys`` (``WHERE``/``AND`` added), in one
    statement on PostgreSQL; ``locked``: the rows are locked, in id order (SQLite's writer holds the file)."""
    if not keys:
        return []
    glue = " AND " if " WHERE " in sql else " WHERE "
    if conn.dialect.name == "postgresql":
        lock = " ORDER BY id FOR UPDATE" if locked else ""
        return conn.execute(text(f"{sql}{glue}{column} = ANY(CAST(:keys AS integer[])){lock}"),
                            {"keys": _pg_array(keys)}).all()
    out: list = []
    items = list(keys)
    for i in range(0, len(items), 900):
        chunk = items[i:i + 900]
        out += conn.execute(text(f"{sql}{glue}{column} IN ({', '.join(str(int(k)) for k in chunk)})")).all()
    return out


def _execute_in(conn, sql: str, column: str, keys: list[int], params: dict) -> None:
    """``sql`` (an UPDATE) restricted to rows whose ``column`` is one of ``keys``."""
    glue = " AND " if " WHERE " in sql else " WHERE "
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"{sql}{glue}{column} = ANY(CAST(:keys AS integer[]))"), {**params, "keys": _pg_array(keys)})
        return
    for i in range(0, len(keys), 900):
        conn.execute(text(f"{sql}{glue}{column} IN ({', '.join(str(int(k)) for k in keys[i:i + 900])})"), params)


def opt_out(citizen: Citizen) -> dict:
    """Delete everything personal: memberships, score events, consents, tokens, the account, and
    the redemptions recorded under the citizen's pseudonyms."""
    from .redemptions import pp1_pseudonyms
    # every daily pseudonym the citizen can have redemptions under (older redemptions are purged anyway)
    pseudonyms = pp1_pseudonyms(citizen.public_id, int(time.time()))
    # PP2: revoke the phone's certificates, forget its devices; redemptions under those certificate ids go too
    from .certificates import forget_citizen
    pseudonyms += forget_citizen(citizen.id, int(time.time()))
    # PP3: only which days certificates were made; PP3 redemptions carry nothing that names the citizen
    from .pp3_issuance import forget_citizen as forget_pp3
    forget_pp3(citizen.id)
    n_red = rows_changed(delete(Redemption).where(Redemption.pseudonym.in_(pseudonyms)))
    # log-in codes carry the phone's keyed hash: they go too, so nothing links to the person afterwards
    db.session.execute(delete(LoginCode).where(LoginCode.phone_hash == citizen.phone_hash))
    n_mem = len(citizen.memberships)
    db.session.delete(citizen)  # cascades to consents, memberships (and their events), tokens
    db.session.commit()
    return {"memberships": n_mem, "redemptions": n_red or 0}
