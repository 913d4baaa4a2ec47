"""Demo ledger on top of ``flask --app backend seed-demo``: data providers, a reviewer and a few events
for demo citizens, so "Why is my score this?" has something to explain. Idempotent (fixed provider
event ids; existing providers and reviewers are kept)."""
from __future__ import annotations

from sqlalchemy import select

from .extensions import db
from .models import DataProvider, LedgerCase, Reviewer, ScoreEvent
from .services import ledger

PROVIDERS = [
    ("fuzhou-traffic-police", "Fuzhou Traffic Police Detachment", ["moli"], None),
    ("fuzhou-civil-affairs", "Fuzhou Civil Affairs Bureau", ["moli"], ["VOLUNTEER-SERVICE", "SOCIAL-SECURITY-ONTIME"]),
    ("suzhou-blood-centre", "Suzhou Central Blood Station", ["osmanthus"], ["BLOOD-DONATION"]),
    ("suzhou-traffic-police", "Suzhou Traffic Police", ["osmanthus"], ["SPEEDING", "RED-LIGHT"]),
    ("rongcheng-credit-office", "Rongcheng Social Credit Management Office", ["rongcheng"], None),
]
PROVIDER_NAMES_ZH = {
    "fuzhou-traffic-police": "福州市公安局交通警察支队",
    "fuzhou-civil-affairs": "福州市民政局",
    "suzhou-blood-centre": "苏州市中心血站",
    "suzhou-traffic-police": "苏州市公安局交通警察支队",
    "rongcheng-credit-office": "荣成市社会信用管理办公室",
}
REVIEWER = "Demo reviewer (Gulou credit office)"
OCCURRED_AT = 1_794_800_000  # 2026-11-16: fixed, so re-seeding sends identical events (duplicates)

# (provider, event id, phone, scheme, category, points, reference, description, decision)
EVENTS = [
    ("fuzhou-civil-affairs", "DEMO-FZ-CA-0001", "+8613900000104", "moli", "VOLUNTEER-SERVICE", 10,
     "FZ-VOL-2026-3381", "Community volunteer service, 40 hours", None),
    ("fuzhou-traffic-police", "DEMO-FZ-TP-0001", "+8613900000104", "moli", "OFFENCE-MODERATE", -15,
     "FZ-TP-2026-118204", "Illegal parking on a fire lane, ticket unpaid after 30 days",
     ("confirm", "Ticket FZ-TP-2026-118204 checked against the vehicle register; unpaid on the due date.")),
    ("fuzhou-traffic-police", "DEMO-FZ-TP-0002", "+8613900000103", "moli", "OFFENCE-MINOR", -5,
     "FZ-TP-2026-120577", "Ran an amber light at Wusi Road", None),  # waits for the reviewer
    ("suzhou-blood-centre", "DEMO-SZ-BC-0001", "+8613900000301", "osmanthus", "BLOOD-DONATION", None,
     "SZ-BLOOD-2026-07713", "Voluntary blood donation, 300 ml", None),
    ("suzhou-traffic-police", "DEMO-SZ-TP-0001", "+8613900000302", "osmanthus", "SPEEDING", None,
     "SZ-TP-2026-55120", "Speed camera, Ganjiang Road, 58 km/h in a 50 zone", None),  # waits for the reviewer
    ("rongcheng-credit-office", "DEMO-RC-0001", "+8613900000404", "rongcheng", "NOT-YIELDING-PEDESTRIANS", None,
     "RC-2026-00931", "Did not yield to pedestrians at the Chengshan Road crosswalk",
     ("confirm", "Crosswalk camera footage reviewed; the plate matches.")),
]


def seed_ledger_demo(now: int) -> dict:
    tokens: dict[str, str] = {}
    for code, name, schemes, cats in PROVIDERS:
        existing = db.session.scalars(select(DataProvider).where(DataProvider.code == code)).first()
        if existing is None:
            _p, tokens[code] = ledger.create_provider(code, name, schemes, now, categories=cats, actor="demo",
                                                      name_zh=PROVIDER_NAMES_ZH.get(code))
        elif existing.name_zh is None and code in PROVIDER_NAMES_ZH:  # a demo database from before the names
            existing.name_zh = PROVIDER_NAMES_ZH[code]
            db.session.commit()
    reviewer = db.session.scalars(select(Reviewer).where(Reviewer.name == REVIEWER)).first()
    reviewer_token = None
    if reviewer is None:
        reviewer, reviewer_token = ledger.create_reviewer(REVIEWER, now, actor="demo")
    results = []
    for prov_code, eid, phone, scheme, cat, pts, ref, desc, decision in EVENTS:
        provider = ledger.provider_by_code(prov_code)
        ev = {"id": eid, "phone": phone, "scheme": scheme, "category": cat,
              "occurred_at": OCCURRED_AT if now > OCCURRED_AT else now - 6 * 86400,
              "reference": ref, "description": desc}
        if pts is not None:
            ev["points"] = pts
        res = ledger.ingest(provider, [ev], now).results[0]
        results.append((eid, res["status"]))
        # decide only an event recorded now: on a re-run the case may be a visitor's dispute, not ours
        if decision and res["status"] == "accepted":
            row = db.session.scalars(select(ScoreEvent).where(ScoreEvent.provider_id == provider.id,
                                                              ScoreEvent.provider_event_id == eid)).first()
            case = next((c for c in db.session.scalars(select(LedgerCase).where(LedgerCase.event_id == row.id))
                         if c.status == "open"), None) if row else None
            if case is not None:
                ledger.decide(case.id, reviewer, decision[0], decision[1], now)
    return {"provider_tokens": tokens, "reviewer": REVIEWER, "reviewer_token": reviewer_token, "events": results,
            "queue": ledger.queue_counts()}
