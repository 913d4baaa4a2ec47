"""The disguise suite of the operator score import (issue 19): forbidden data written as a data clerk might
slip it in -- other languages and scripts, transliterated, spaced out, with combining marks or look-alike
letters, encoded, as a medical classification code, split across two fields, shaped like a code, or as a
column name -- put into every field and the header of a CSV file (`flask scores import`) and of an API
request (`POST /api/v1/operator/scores`).

An import has no field for prose, so every one is refused whole; afterwards a walk over every column of
every table and over the captured log lines finds none of the payloads, no score moved (each refused file
also carries a valid row that would have raised one), and no ledger event or audit entry was written."""
from __future__ import annotations

import base64
import csv
import io
import json

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import AuditEntry, ScoreEvent

PHONE = "+8613900001919"
COLUMNS = ["phone", "citizen_id", "scheme", "score", "reason", "source_system"]
VALID = {"phone": PHONE, "citizen_id": "", "scheme": "moli", "score": "720", "reason": "annual-recalculation",
         "source_system": "fuzhou-credit-platform"}

# (class of disguise, payload): the sensitive categories of the personal-information law and the city schemes'
# rules (religion, ethnicity, health, blood type, genetics, biometrics, political opinion)
PAYLOADS = [
    ("traditional Chinese", "宗教信仰：基督教"),
    ("traditional Chinese", "醫療記錄：糖尿病"),
    ("traditional Chinese", "民族：維吾爾族"),
    ("traditional Chinese", "政治面貌：黨員"),
    ("Japanese", "宗教：仏教徒"),
    ("Japanese", "血液型はO型"),
    ("Korean", "종교: 기독교"),
    ("Korean", "병력: 당뇨병"),
    ("Uyghur", "دىنىي ئېتىقادى: ئىسلام"),
    ("Tibetan", "ཆོས་ལུགས། ནང་པ།"),
    ("Russian", "вероисповедание: православный"),
    ("Russian", "группа крови II"),
    ("Arabic", "الديانة: مسلم"),
    ("pinyin", "zongjiao xinyang fojiao"),
    ("pinyin", "xuexing AB"),
    ("spaced out", "r e l i g i o n : m u s l i m"),
    ("spaced out", "宗 教 信 仰"),
    ("combining marks", "re\u0301ligio\u0308n: muslim"),
    ("look-alikes", "r\u0435ligion: muslim"),            # Cyrillic е
    ("look-alikes", "\u0392LOOD TYPE AB"),                 # Greek Beta
    ("base64", base64.b64encode(b"religion: muslim").decode()),
    ("hex", b"religion: muslim".hex()),
    ("ICD-10", "E11.9"),                                   # type 2 diabetes
    ("ICD-10", "F20.0"),                                   # schizophrenia
    ("ICD-10", "B20.1"),                                   # HIV disease
    ("shaped like a code", "religion-muslim"),
    ("shaped like a code", "blood-type-ab-positive"),
    ("shaped like a code", "ethnicity-uyghur"),
]
SPLIT = [("blood-ty", "pe-ab-positive"), ("宗教", "佛教"), ("E11", ".9 diabetes")]  # across two fields
FIELDS = ["phone", "citizen_id", "scheme", "score", "reason", "source_system"]


def _csv(header: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header])
    return out.getvalue()


def _csv_variants(payload: str) -> list[tuple[str, str]]:
    """(where, file text): the payload in each field, as an extra column's name, as a renamed column."""
    out = []
    for f in FIELDS:
        bad = dict(VALID, **{f: payload})
        if f == "citizen_id":
            bad["phone"] = ""  # else "not both" would refuse it before the id is read
        out.append((f"field {f}", _csv(COLUMNS, [VALID, bad])))
    out.append(("extra column", _csv(COLUMNS + [payload], [dict(VALID, **{payload: "1"})])))
    renamed = [payload if c == "reason" else c for c in COLUMNS]
    out.append(("renamed column", _csv(renamed, [dict(VALID, **{payload: "annual-recalculation"})])))
    return out


def _api_row(**over) -> dict:
    row = {"phone": PHONE, "scheme": "moli", "score": 720, "reason": "annual-recalculation",
           "source_system": "fuzhou-credit-platform"}
    row.update(over)
    return row


def _api_variants(payload: str) -> list[tuple[str, dict]]:
    out = []
    for f in FIELDS:
        bad = _api_row(**{f: payload})
        if f == "citizen_id":
            bad.pop("phone")
        out.append((f"field {f}", {"scores": [_api_row(), bad]}))
    out.append(("extra field", {"scores": [_api_row(**{payload: "1"})]}))
    out.append(("extra top-level field", {"scores": [_api_row()], payload: "1"}))
    return out


def _stored_text() -> str:
    """Every column of every row of every table, as text."""
    parts = []
    for table in db.metadata.sorted_tables:
        for r in db.session.execute(select(table)):
            parts.append(json.dumps({k: v for k, v in r._mapping.items()}, default=str, ensure_ascii=False))
    return "\n".join(parts)


def _readable(payload: str) -> list[str]:
    """What must not be found: the payload, and for an encoded one what it decodes to."""
    out = [payload]
    if payload.endswith("=") or payload.isalnum():
        try:
            out.append(base64.b64decode(payload, validate=True).decode())
        except ValueError:
            pass
    try:
        out.append(bytes.fromhex(payload).decode())
    except ValueError:
        pass
    return out


@pytest.fixture
def citizen(h):
    token = h.citizen(PHONE, {"moli": 650})
    return token


def _state(h, token) -> tuple:
    score = h.client.get("/api/v1/me", headers=h.bearer(token)).json["schemes"][0]["score"]
    return score, db.session.query(ScoreEvent).count(), db.session.query(AuditEntry).count()


def test_every_disguise_in_every_field_and_column_of_a_csv_file_is_refused_and_leaves_nothing(
        h, runner, tmp_path, citizen, json_logs):
    before = _state(h, citizen)
    path = tmp_path / "import.csv"
    tried = 0
    cases = [(cls, p, where, text) for cls, p in PAYLOADS for where, text in _csv_variants(p)]
    for first, second in SPLIT:
        cases.append(("split across two fields", first + second, "reason + source_system",
                      _csv(COLUMNS, [VALID, dict(VALID, reason=first, source_system=second)])))
    for cls, payload, where, text in cases:
        path.write_text(text, encoding="utf-8")
        res = runner.invoke(args=["scores", "import", str(path)])
        assert res.exit_code == 1, (cls, payload, where, res.output)
        assert "Traceback" not in res.output and "line " in res.output, (cls, where, res.output)
        assert payload not in res.output, (cls, payload, where)  # a refusal names the field, not the value
        tried += 1
    assert tried >= 8 * len(PAYLOADS)
    assert _state(h, citizen) == before  # the valid row of each refused file was not applied either
    stored, logs = _stored_text(), "\n".join(json_logs())
    assert "annual-recalculation" in stored and "scores.imported" in stored  # the walk reads events and audit
    for cls, payload in PAYLOADS + [("split", a + b) for a, b in SPLIT]:
        for needle in _readable(payload):
            assert needle not in stored, (cls, needle)
            assert needle not in logs, (cls, needle)
    for a, b in SPLIT:
        assert a not in stored and b not in stored


def test_every_disguise_in_every_field_of_an_api_import_is_refused_and_leaves_nothing(h, citizen, json_logs):
    before = _state(h, citizen)
    cases = [(cls, p, where, body) for cls, p in PAYLOADS for where, body in _api_variants(p)]
    for first, second in SPLIT:
        cases.append(("split across two fields", first + second, "reason + source_system",
                      {"scores": [_api_row(), _api_row(reason=first, source_system=second)]}))
    for cls, payload, where, body in cases:
        r = h.client.post("/api/v1/operator/scores", json=body, headers=h.op())
        assert r.status_code in (400, 422), (cls, payload, where, r.status_code, r.json)
        assert set(r.json) == {"error"} and r.json["error"]["code"] in ("validation_error", "import_refused")
    assert _state(h, citizen) == before
    stored, logs = _stored_text(), "\n".join(json_logs())
    for cls, payload in PAYLOADS + [("split", a + b) for a, b in SPLIT]:
        for needle in _readable(payload):
            assert needle not in stored, (cls, needle)
            assert needle not in logs, (cls, needle)


def test_an_accepted_import_stores_only_codes_and_opt_out_leaves_nothing_of_it(h, runner, tmp_path, citizen):
    """What an import does store: two registered codes on the event, one audit entry per batch with codes and
    counts. After the citizen opts out, nothing of the import points at them."""
    me = h.client.get("/api/v1/me", headers=h.bearer(citizen)).json
    path = tmp_path / "ok.csv"
    path.write_text(_csv(COLUMNS, [dict(VALID, phone="", citizen_id=me["id"], score="731",
                                        reason="dispute-correction")]), encoding="utf-8")
    res = runner.invoke(args=["scores", "import", str(path)])
    assert res.exit_code == 0 and "imported 1" in res.output, res.output
    event = db.session.scalars(select(ScoreEvent).order_by(ScoreEvent.id.desc())).first()
    assert (event.source, event.reason) == ("fuzhou-credit-platform", "dispute-correction")
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "scores.imported" and entry.details == {
        "events": 1, "reasons": ["dispute-correction"], "source_systems": ["fuzhou-credit-platform"]}
    assert h.client.delete("/api/v1/me", json={"confirm": True}, headers=h.bearer(citizen)).status_code == 200
    stored = _stored_text()
    from backend.services import auth
    for needle in (me["id"], PHONE, auth.phone_hash(PHONE)):
        assert needle not in stored, needle
    assert db.session.query(ScoreEvent).count() == 0  # the import's events went with the membership
