"""Demo ledger on top of ``flask --app backend seed-demo``: data providers (with approved catalogue entries:
their names and reference formats, recorded as shipped seeds), a reviewer and a few events for demo citizens,
so "Why is my score this?" has something to explain. Idempotent (fixed references; existing providers and
reviewers are kept)."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import DataProvider, LedgerCase, Reviewer, ScoreEvent
from ..services import ledger

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
REFERENCE_FORMATS = {
    "fuzhou-traffic-police": "FZ-TP-####-######",
    "fuzhou-civil-affairs": "FZ-VOL-####-####",
    "suzhou-blood-centre": "SZ-BLOOD-####-#####",
    "suzhou-traffic-police": "SZ-TP-####-#####",
    "rongcheng-credit-office": "RC-####-#####",
}
REVIEWER = "Demo reviewer (Gulou credit office)"
OCCURRED_AT = 1_794_800_000  # 2026-11-16: fixed, so re-seeding sends identical events (duplicates)

# (provider, reference, phone, scheme, rule, points, decision): codes, numbers and identifiers only; what
# the citizen reads comes from the catalogue
EVENTS = [
    ("fuzhou-civil-affairs", "FZ-VOL-2026-3381", "+8613900000104", "moli", "VOLUNTEER-SERVICE", 10, None),
    ("fuzhou-traffic-police", "FZ-TP-2026-118204", "+8613900000104", "moli", "OFFENCE-MODERATE", -15,
     ("confirm", "Ticket FZ-TP-2026-118204 checked against the vehicle register; unpaid on the due date.")),
    ("fuzhou-traffic-police", "FZ-TP-2026-120577", "+8613900000103", "moli", "OFFENCE-MINOR", -5,
     None),  # waits for the reviewer
    ("suzhou-blood-centre", "SZ-BLOOD-2026-07713", "+8613900000301", "osmanthus", "BLOOD-DONATION", None, None),
    ("suzhou-traffic-police", "SZ-TP-2026-55120", "+8613900000302", "osmanthus", "SPEEDING", None,
     None),  # waits for the reviewer
    ("rongcheng-credit-office", "RC-2026-00931", "+8613900000404", "rongcheng", "NOT-YIELDING-PEDESTRIANS", None,
     ("confirm", "Crosswalk camera footage reviewed; the plate matches.")),
]


def _approved_entry(code: str, name: str, now: int) -> None:
    """The demo provider's catalogue entry, recorded as a shipped seed (a real provider's entry is proposed by
    one operator and approved by another)."""
    if ledger.catalogue_entry("provider", code) is None:
        ledger.seed_approved("provider", code, {"en": name, "zh-CN": PROVIDER_NAMES_ZH.get(code, name)},
                             {"reference_format": REFERENCE_FORMATS[code]}, now, actor="seed:demo")
        db.session.commit()


def seed_ledger_demo(now: int) -> dict:
    tokens: dict[str, str] = {}
    for code, name, schemes, cats in PROVIDERS:
        existing = db.session.scalars(select(DataProvider).where(DataProvider.code == code)).first()
        if existing is None:
            _p, tokens[code] = ledger.create_provider(code, name, schemes, now, categories=cats, actor="demo",
                                                      name_zh=PROVIDER_NAMES_ZH.get(code),
                                                      reference_format=REFERENCE_FORMATS[code])
            for c in ledger.catalogue_changes():  # the demo's own proposal: the seed below replaces it
                if c.kind == "provider" and c.code == code:
                    ledger.decide_change(c.id, True, "seed:demo", now)
        _approved_entry(code, name, now)
    reviewer = db.session.scalars(select(Reviewer).where(Reviewer.name == REVIEWER)).first()
    reviewer_token = None
    if reviewer is None:
        reviewer, reviewer_token = ledger.create_reviewer(REVIEWER, now, actor="demo")
    results = []
    for prov_code, ref, phone, scheme, rule, pts, decision in EVENTS:
        provider = ledger.provider_by_code(prov_code)
        ev = {"reference": ref, "phone": phone, "scheme": scheme, "rule": rule,
              "occurred_at": OCCURRED_AT if now > OCCURRED_AT else now - 6 * 86400}
        if pts is not None:
            ev["points"] = pts
        res = ledger.ingest(provider, [ev], now).results[0]
        results.append((ref, res["status"]))
        # decide only an event recorded now: on a re-run the case may be a visitor's dispute, not ours
        if decision and res["status"] == "accepted":
            case = db.session.scalars(select(LedgerCase).join(ScoreEvent).where(
                ScoreEvent.provider_id == provider.id, LedgerCase.status == "open")
                .order_by(LedgerCase.id.desc())).first()
            if case is not None:
                ledger.decide(case.id, reviewer, decision[0], decision[1], now)
    return {"provider_tokens": tokens, "reviewer": REVIEWER, "reviewer_token": reviewer_token, "events": results,
            "queue": ledger.queue_counts()}
