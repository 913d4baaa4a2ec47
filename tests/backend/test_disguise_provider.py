"""The disguise suite of issue 19 for every provider-side entry path: the provider API, ``flask ledger ingest``,
withdrawals, provider names, catalogue proposals (API and CLI) and the point-rule files, each tried with
forbidden data in other languages and scripts, transliterated, spaced out, with combining marks and
look-alikes, encoded, as ICD-10 codes, split across two fields and as a field name. Every attempt is refused
(a clear 4xx, or a non-zero exit naming the line/event and field), and after the run a scan of every column
of every table and of the captured logs finds none of the payloads readable; no score changed except through
an approved catalogue rule (the control event sent alongside)."""
from __future__ import annotations

import base64
import json
import shutil
import time
import urllib.parse

import pytest
from sqlalchemy import func, select, text

from backend.extensions import db
from backend.models import AuditEntry, CatalogueChange, CitizenScheme, DataProvider, ScoreEvent
from tests.backend.test_ledger import Ledger


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


# (class, payload, readable forms that must never be stored or logged)
PAYLOADS: list[tuple[str, str, tuple[str, ...]]] = [
    ("traditional Chinese", "宗教信仰：基督教", ("基督教",)),
    ("traditional Chinese", "病歷：糖尿病", ("糖尿病",)),
    ("Japanese", "血液型はAB型です", ("血液型",)),
    ("Japanese", "宗教：仏教徒", ("仏教徒",)),
    ("Korean", "종교: 기독교", ("기독교",)),
    ("Korean", "혈액형 AB", ("혈액형",)),
    ("Uyghur", "دىنىي ئېتىقادى بار", ("ئېتىقادى",)),
    ("Tibetan", "ཆོས་ལུགས་ནང་པ", ("ཆོས་ལུགས",)),
    ("Russian", "Религия: православие", ("православие",)),
    ("Russian", "группа крови AB", ("группа крови",)),
    ("Arabic", "الديانة: مسلم", ("الديانة",)),
    ("German", "Blutgruppe AB negativ", ("Blutgruppe",)),
    ("French", "groupe sanguin O+", ("groupe sanguin",)),
    ("Spanish", "historial médico del paciente", ("historial médico",)),
    ("pinyin", "zongjiao: fojiao", ("fojiao",)),
    ("pinyin", "xuexing AB", ("xuexing",)),
    ("pinyin with tones", "zōngjiào xìnyǎng", ("zōngjiào",)),
    ("transliterated Russian", "religiya pravoslavie", ("pravoslavie",)),
    ("spaced out", "r e l i g i o n", ("r e l i g i o n",)),
    ("spaced out", "宗 教 信 仰", ("宗 教 信 仰",)),
    ("spaced out", "b l o o d  t y p e", ("b l o o d",)),
    ("combining marks", "re\u0301ligio\u0308n", ("re\u0301ligio\u0308n",)),
    ("combining marks", "宗\u0301教", ("宗\u0301教",)),
    ("look-alikes", "R\u0435ligion: Buddhist", ("Buddhist",)),
    ("look-alikes", "\u0392LOOD \u03a4YPE AB", ("\u0392LOOD",)),
    ("look-alikes", "\uff24\uff2e\uff21 sample", ("\uff24\uff2e\uff21",)),
    ("base64", _b64("religion: Buddhist"), (_b64("religion: Buddhist"),)),
    ("hex", b"blood type AB".hex(), (b"blood type AB".hex(),)),
    ("URL encoding", urllib.parse.quote("宗教信仰"), (urllib.parse.quote("宗教信仰"),)),
    ("HTML entities", "&#23447;&#25945;", ("&#23447;",)),
    ("ICD-10", "E11.9", ("E11.9",)),
    ("ICD-10", "ICD-10 F32.1", ("F32.1",)),
    ("ethnicity", "Ethnicity: Uyghur", ("Uyghur",)),
    ("ethnicity", "民族：藏族", ("藏族",)),
    ("political opinion", "Party membership: dissident", ("dissident",)),
    ("political opinion", "上访记录三次", ("上访",)),
    ("financial account", "Bank account 6222 0202 0000 1234 567", ("6222 0202",)),
    ("financial account", "银行卡号", ("银行卡号",)),
    ("location track", "GPS track 26.07N 119.30E", ("26.07N",)),
    ("location track", "行踪轨迹", ("行踪轨迹",)),
    ("child under 14", "Child under 14 at home", ("Child under 14",)),
    ("child under 14", "未满十四周岁", ("未满十四周岁",)),
    ("biometrics", "Face recognition match", ("Face recognition",)),
    ("biometrics", "人脸识别通过", ("人脸识别",)),
    ("genetics", "DNA-PROFILE", ("DNA-PROFILE",)),
    ("fingerprints", "FINGERPRINT-MATCH-7", ("FINGERPRINT-MATCH",)),
]
# split across two fields: each half alone names nothing
SPLITS = [("blood", "type AB"), ("religious", "belief: Buddhist"), ("medical", "history: asthma"),
          ("宗", "教信仰"), ("finger", "print on file")]
IDS = [f"{i:02d}-{c.replace(' ', '-')}" for i, (c, _p, _n) in enumerate(PAYLOADS)]
PHONE = "+8613800009001"
FORMAT = "FZ-TP-####-######"


def _every_cell() -> list[tuple[str, str]]:
    """(table.column, value as text) for every non-null cell of every table."""
    out = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()).mappings():
            for col, value in row.items():
                if value is not None:
                    out.append((f"{table.name}.{col}", value if isinstance(value, str) else json.dumps(
                        value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)))
    return out


@pytest.fixture
def world(h, runner):
    """A citizen of moli at 650, an approved provider, a reviewer; one control event of an approved rule."""
    lg = Ledger(h)
    tok = h.citizen(PHONE, {"moli": 650})
    prov = lg.provider("fuzhou-traffic-police", reference_format=FORMAT)
    control = lg.one(prov, PHONE, "moli", "VOLUNTEER-SERVICE", 4, ref="FZ-TP-2026-000001")
    assert control["status"] == "accepted" and lg.score(tok, "moli")["score"] == 654
    return {"lg": lg, "tok": tok, "prov": prov, "h": h, "runner": runner}


def _event(**over) -> dict:
    ev = {"reference": "FZ-TP-2026-000002", "phone": PHONE, "scheme": "moli", "rule": "VOLUNTEER-SERVICE",
          "points": 3, "occurred_at": int(time.time()) - 600}
    ev.update(over)
    return ev


def _placements(payload: str) -> list[dict]:
    """The provider event with the payload in every place a provider could put it."""
    return [_event(description=payload), _event(**{payload: "1"}), _event(note=payload),
            _event(reference=payload), _event(rule=payload), _event(scheme=payload), _event(phone=payload),
            _event(citizen_id=payload, phone=None), _event(phone={"number": PHONE, "note": payload}),
            _event(reference="FZ-TP-2026-" + payload), _event(points=payload), _event(occurred_at=payload)]


def _clean(ev: dict) -> dict:
    return {k: v for k, v in ev.items() if v is not None}


def _refused_everywhere(world, payload: str, tmp_path, i: int) -> None:
    h, lg, prov, runner = world["h"], world["lg"], world["prov"], world["runner"]
    op, second = h.op(), lg.second_op()
    # 1. the provider API, every placement
    for ev in _placements(payload):
        r = h.client.post("/api/v1/provider/events", json={"events": [_clean(ev)]}, headers=h.bearer(prov))
        assert r.status_code in (400, 422), (payload, ev, r.json)
        assert r.json["error"]["code"] in ("validation_error", "invalid_events"), r.json
    # 2. flask ledger ingest: the same file shapes, refused with the event and field, exit 1
    batch = tmp_path / f"batch-{i}.json"
    for ev in _placements(payload)[:5]:
        batch.write_text(json.dumps([_event(reference="FZ-TP-2026-000003"), _clean(ev)], ensure_ascii=False))
        res = runner.invoke(args=["ledger", "ingest", str(batch), "--provider", "fuzhou-traffic-police"])
        assert res.exit_code == 1 and "Traceback" not in res.output, (payload, res.output)
        assert ("event 2 field" in res.output or "events.1." in res.output) and "nothing" in res.output, res.output
    # 3. withdrawals: a reason is a code, the reference a registered identifier; nothing else fits
    for body in ({"reference": "FZ-TP-2026-000001", "reason": payload},
                 {"reference": payload, "reason": "wrong-person"},
                 {"reference": "FZ-TP-2026-000001", "reason": "wrong-person", payload: "x"},
                 {"reference": "FZ-TP-2026-000001", "reason": "wrong-person", "note": payload}):
        r = h.client.post("/api/v1/provider/withdrawals", json=body, headers=h.bearer(prov))
        assert r.status_code in (400, 404), (payload, body, r.json)
    res = runner.invoke(args=["ledger", "withdraw", "FZ-TP-2026-000001", "--provider", "fuzhou-traffic-police",
                              "--reason", payload])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    # 4. provider names and reference formats: screened before anything is stored
    for body in ({"code": f"prov-{i}", "name": payload, "schemes": ["moli"], "reference_format": "PV-####"},
                 {"code": f"prov-{i}", "name": "Records office", "name_zh": payload, "schemes": ["moli"],
                  "reference_format": "PV-####"},
                 {"code": f"prov-{i}", "name": "Records office", "schemes": ["moli"], "reference_format": payload}):
        r = h.client.post("/api/v1/operator/ledger/providers", json=body, headers=op)
        assert r.status_code in (400, 422), (payload, body, r.json)
    # 5. catalogue proposals (a rule, a category, a reason code, a source system), API and command line
    rule = {"kind": "rule", "scope": "moli", "code": "TREE-PLANTING",
            "labels": {"en": "Planted a tree", "zh-CN": "植树"}, "data": {"category": "volunteering", "min": 2, "max": 2}}
    for body in (dict(rule, labels={"en": payload, "zh-CN": "植树"}), dict(rule, labels={"en": "Planted a tree",
                                                                                          "zh-CN": payload}),
                 dict(rule, code=payload), dict(rule, data={"category": "volunteering", "min": 2, "max": 2,
                                                            payload: 1}),
                 {"kind": "category", "code": "tree-planting", "labels": {"en": payload, "zh-CN": payload}},
                 {"kind": "reason_code", "code": "late-payment", "labels": {"en": "Late", "zh-CN": payload},
                  "data": {"applies_to": ["withdrawal"]}},
                 {"kind": "source_system", "code": "city-archive", "labels": {"en": payload, "zh-CN": "档案"},
                  "data": {"schemes": ["moli"]}}):
        for who in (op, second):
            r = h.client.post("/api/v1/operator/ledger/catalogue/changes", json=body, headers=who)
            assert r.status_code in (400, 422), (payload, body, r.json)
    res = runner.invoke(args=["ledger", "catalogue", "propose", "rule", "TREE-PLANTING", "--scheme", "moli", "--en",
                              payload, "--zh", "植树", "--data", '{"category": "volunteering", "min": 2, "max": 2}',
                              "--by", "clerk"])
    assert res.exit_code == 1 and "[forbidden_data]" in res.output and "Traceback" not in res.output, res.output


@pytest.mark.parametrize("i", range(0, len(PAYLOADS), 8), ids=lambda i: f"payloads-{i:02d}")
def test_every_entry_path_refuses_every_disguise_and_stores_nothing_readable(world, tmp_path, json_logs, i):
    lg, tok = world["lg"], world["tok"]
    chunk = PAYLOADS[i:i + 8]
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    changes_before = db.session.scalar(select(func.count()).select_from(CatalogueChange))
    for j, (_cls, payload, _needles) in enumerate(chunk):
        _refused_everywhere(world, payload, tmp_path, i + j)
    db.session.expire_all()
    # nothing of any refusal: not a row, not an audit entry, not a proposal, not a provider
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
    assert db.session.scalar(select(func.count()).select_from(CatalogueChange)) == changes_before
    assert db.session.scalar(select(func.count()).select_from(DataProvider)) == 1
    assert db.session.scalar(select(func.count()).select_from(ScoreEvent).where(ScoreEvent.kind == "point")) == 1
    # the only change to a score is the control event's approved rule
    assert [m.score for m in db.session.scalars(select(CitizenScheme))] == [654]
    assert lg.score(tok, "moli")["score"] == 654
    cells = _every_cell()
    lines = json_logs()
    for cls, payload, needles in chunk:
        for needle in (payload, *needles):
            stored = [where for where, value in cells if needle in value]
            assert not stored, (cls, needle, stored)
            logged = [line for line in lines if needle in line or json.dumps(needle)[1:-1] in line]
            assert not logged, (cls, needle, logged[:2])


def test_split_across_two_fields_is_refused(world, json_logs):
    h, lg = world["h"], world["lg"]
    for first, second in SPLITS:
        # a provider event has no two text fields to split over: both halves are refused on their own
        for ev in (_event(description=first, note=second), _event(reference=first, rule=second)):
            r = h.client.post("/api/v1/provider/events", json={"events": [ev]}, headers=h.bearer(world["prov"]))
            assert r.status_code in (400, 422), r.json
        # the catalogue reads an entry's fields together
        body = {"kind": "category", "code": "civic-misc", "labels": {"en": first, "zh-CN": second}}
        r = h.client.post("/api/v1/operator/ledger/catalogue/changes", json=body, headers=h.op())
        assert r.status_code == 422 and r.json["error"]["code"] == "forbidden_data", (first, second, r.json)
        r = h.client.post("/api/v1/operator/ledger/providers", headers=h.op(), json={
            "code": "records", "name": first, "name_zh": second, "schemes": ["moli"], "reference_format": "RC-####"})
        assert r.status_code == 422, r.json
    cells = _every_cell()
    for _first, second in SPLITS:
        assert not [w for w, v in cells if second in v], second
    assert not [line for line in json_logs() if "type AB" in line or "asthma" in line]
    assert lg.score(world["tok"], "moli")["score"] == 654


@pytest.mark.parametrize("cls,payload", [(c, p) for c, p, _n in PAYLOADS[::3]])
def test_a_rule_file_naming_forbidden_data_stops_the_backend(app, tmp_path, cls, payload):
    from backend.config import REPO_ROOT
    from backend.services.ledger import PointRulesError, load_point_rules
    from backend.services.perks import get_catalogue
    rules_dir = tmp_path / "pr"
    shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
    moli = json.loads((rules_dir / "moli.json").read_text())
    moli["rules"].append({"code": "TREE-PLANTING", "category": "volunteering", "points": 2,
                          "title": {"en": "Planted a tree", "zh-CN": payload}})
    (rules_dir / "moli.json").write_text(json.dumps(moli, ensure_ascii=False))
    with pytest.raises(PointRulesError, match=r"moli.json rules\[6\]: names a forbidden data category"):
        load_point_rules(rules_dir, get_catalogue())


def test_a_rule_file_edit_waits_for_a_second_operator(world, make_app, tmp_path):
    """A clean rule added to a file on a running system changes no score until an operator approves it."""
    from backend.config import REPO_ROOT
    from backend.services import ledger
    rules_dir = tmp_path / "pr"
    shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
    moli = json.loads((rules_dir / "moli.json").read_text())
    moli["rules"].append({"code": "TREE-PLANTING", "category": "volunteering", "points": 2,
                          "title": {"en": "Planted a tree", "zh-CN": "植树"}})
    (rules_dir / "moli.json").write_text(json.dumps(moli, ensure_ascii=False))
    app2 = make_app(PERKPASS_POINT_RULES_DIR=str(rules_dir))
    with app2.app_context():
        assert ledger.seed_catalogue(int(time.time())) == {"approved": 0, "proposed": 1}
        assert "TREE-PLANTING" not in ledger.get_point_rules().schemes["moli"].rules
        client = app2.test_client()
        r = client.post("/api/v1/provider/events", headers=world["h"].bearer(world["prov"]),
                        json={"events": [_event(rule="TREE-PLANTING", points=2)]})
        assert r.status_code == 422 and "events.0.rule" in r.json["error"]["fields"], r.json
        change = next(c for c in ledger.catalogue_changes() if c.code == "TREE-PLANTING")
        assert change.proposed_by == "rule-file"
        ledger.decide_change(change.id, True, "operator:reviewing-the-file", int(time.time()))
        r = client.post("/api/v1/provider/events", headers=world["h"].bearer(world["prov"]),
                        json={"events": [_event(rule="TREE-PLANTING", points=2)]})
        assert r.status_code == 200 and r.json["accepted"] == 1, r.json
        db.session.remove()


def test_the_scan_sees_what_is_stored(world):
    """The table scan is not blind: the control event's rule, the provider's name and the seeded labels show."""
    cells = _every_cell()
    assert any(v == "VOLUNTEER-SERVICE" for _w, v in cells)
    assert any("Fuzhou Traffic Police" in v for _w, v in cells)
    assert any("按时缴纳社保" in v for _w, v in cells)
    assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_a_forbidden_rule_file_ends_a_command_with_its_file_and_rule(make_app, tmp_path):
    from backend.config import REPO_ROOT
    rules_dir = tmp_path / "pr"
    shutil.copytree(REPO_ROOT / "assets" / "point-rules", rules_dir)
    moli = json.loads((rules_dir / "moli.json").read_text())
    moli["rules"].append({"code": "TREE-PLANTING", "category": "volunteering", "points": 2,
                          "title": {"en": "Planted a tree", "zh-CN": "宗 教 活 动"}})
    (rules_dir / "moli.json").write_text(json.dumps(moli, ensure_ascii=False))
    make_app()  # the session's tables, seeded from the shipped files
    bad = make_app(PERKPASS_POINT_RULES_DIR=str(rules_dir))
    for args in (["ledger", "rules"], ["init-db"]):
        res = bad.test_cli_runner().invoke(args=args)
        assert res.exit_code == 1 and "Traceback" not in res.output, res.output
        assert "[point_rules] moli.json rules[6]: names a forbidden data category (religious-belief)" in res.output
