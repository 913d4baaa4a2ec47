"""Opt-out leaves nothing that links to the person: a walk over every table in the metadata (so tables
added later are covered too) after a citizen who logged in, joined, had provider events reviewed and
disputed, asked for codes and failed a log-in once, has left."""
from __future__ import annotations

import json

from sqlalchemy import select

from backend.extensions import db
from backend.services import auth as auth_service
from tests.backend.test_ledger import Ledger

PHONE = "+8613800007777"
STATEMENT = "Opt-out canary: the camera photo shows another car."


def _every_row() -> dict[str, list[dict]]:
    out = {}
    for table in db.metadata.sorted_tables:
        out[table.name] = [dict(r._mapping) for r in db.session.execute(select(table))]
    return out


def _links(rows: dict[str, list[dict]], needles: list[str], citizen_id: int) -> list[str]:
    found = []
    citizen_fks = {(fk.parent.table.name, fk.parent.name) for t in db.metadata.sorted_tables
                   for fk in t.foreign_keys if fk.column.table.name == "citizens"}
    for name, table_rows in rows.items():
        for row in table_rows:
            text = json.dumps(row, default=str, ensure_ascii=False)
            found += [f"{name}: {n!r}" for n in needles if n in text]
            if name == "citizens" and row["id"] == citizen_id:
                found.append("citizens: the row")
            found += [f"{name}.{col} = citizen id" for (t, col) in citizen_fks if t == name and row.get(col) == citizen_id]
    return found


def test_after_opt_out_no_table_holds_anything_that_links_to_the_person(h):
    lg = Ledger(h)
    token = h.citizen(PHONE, {"moli": 700})
    prov, rev = lg.provider(), lg.reviewer()
    sent = lg.one(prov, PHONE, "moli", "OFFENCE-MINOR", -5, ref="DOC-424242")
    case = lg.case_for(rev, lg.score(token, "moli")["events"][0]["id"])
    lg.decide(rev, case["id"], "confirm")
    lg.dispute(token, case["event"]["id"], STATEMENT)
    h.issue(token, "metro")
    h.client.post("/api/v1/auth/request-code", json={"phone": PHONE})
    h.client.post("/api/v1/auth/login", json={"phone": PHONE, "code": "000001"})  # a wrong try
    me = h.client.get("/api/v1/me", headers=h.bearer(token)).json
    from backend.models import Citizen
    from backend.services import ledger
    citizen = db.session.scalars(select(Citizen).where(Citizen.public_id == me["id"])).one()
    needles = [PHONE, PHONE[1:], auth_service.phone_hash(PHONE), me["id"], STATEMENT, sent["reference"],
               ledger.reference_digest(ledger.reference_key(), "fuzhou-traffic", sent["reference"])]
    before = _links(_every_row(), needles, citizen.id)
    # the walk sees the person before: log-in codes, the account, the ledger, the audit trail's subjects
    assert any(x.startswith("login_codes:") for x in before) and any(x.startswith("score_events:") for x in before)
    cid = citizen.id
    db.session.remove()

    r = h.client.delete("/api/v1/me", json={"confirm": True}, headers=h.bearer(token))
    assert r.status_code == 200, r.json
    assert _links(_every_row(), needles, cid) == []
    # the audit chain survives the deletion and still verifies
    assert h.client.get("/api/v1/operator/ledger/audit/verify", headers=h.op()).json["ok"] is True
