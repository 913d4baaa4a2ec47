"""Demo data: a partner and venue for every perk audience, citizens in every band of every scheme."""
from __future__ import annotations

import uuid

from sqlalchemy import delete, select

from ..services import consent as consent_texts
from ..extensions import db
from ..models import Citizen, Consent, Device, EnrolmentCode, Partner, Redemption, Venue
from ..services import auth as auth_service
from ..services import partners as partner_service
from ..services import scores as score_service
from ..services.operators import create_token
from ..services.perks import get_catalogue
from ..settings import settings

# partner -> [(venue name, audience, perk codes)]
PARTNERS = {
    "Fuzhou Metro": [("Fuzhou Metro Line 1 - Dongjiekou gate", "metro", ["MOLI-METRO20"]),
                     ("Fuzhou Metro Line 1 - Fuzhou Railway Station gate", "metro", ["MOLI-METRO20"])],
    "Gulou District Government Services": [("Gulou service office - Window 3", "gov-office",
                                            ["MOLI-GOV-PRIORITY", "MOLI-GOV-ASSIST", "MOLI-GOV-EXPRESS"])],
    "Xiamen Library": [("Xiamen Library - Main desk", "library", ["BAILU-LIB-NODEPOSIT", "BAILU-LIB-PRIORITY"])],
    "Xiamen Culture & Tourism": [("Gulangyu Piano Museum", "culture", ["BAILU-VENUE-DISCOUNT"])],
    "Suzhou Library": [("Suzhou Library - Loans desk", "library", ["OSM-LIB-LONGLOAN"])],
    "Suzhou Municipal Hospital": [("Suzhou Municipal Hospital - Outpatient reception", "hospital",
                                   ["OSM-HOSP-PRIORITY"])],
    "Suzhou Rail Transit": [("Suzhou Rail Transit - Suzhou Railway Station", "metro", ["OSM-TRANSIT"])],
    "Rongcheng Heating Company": [("Rongcheng Heating - Customer hall", "utility", ["RC-HEATING"])],
    "Rongcheng Rural Commercial Bank": [("Rongcheng Bank - Loans counter", "bank", ["RC-LOAN"])],
    "Rongcheng People's Hospital": [("Rongcheng People's Hospital - Check-up centre", "hospital", ["RC-CHECKUP"])],
    "Rongcheng Housing Rentals": [("Rongcheng Housing - Lettings office", "rental", ["RC-NODEPOSIT"])],
    "CityShare Rentals": [("CityShare bikes, cars & flats - Service point", "rental",
                           ["SES-BIKE-NODEPOSIT", "SES-CAR-NODEPOSIT", "SES-FLAT-NODEPOSIT"])],
}

# the venues' names as citizens reading Chinese see them
VENUE_NAMES_ZH = {
    "Fuzhou Metro Line 1 - Dongjiekou gate": "福州地铁1号线 东街口站闸机",
    "Fuzhou Metro Line 1 - Fuzhou Railway Station gate": "福州地铁1号线 福州火车站站闸机",
    "Gulou service office - Window 3": "鼓楼区政务服务中心 3号窗口",
    "Xiamen Library - Main desk": "厦门市图书馆 总服务台",
    "Gulangyu Piano Museum": "鼓浪屿钢琴博物馆",
    "Suzhou Library - Loans desk": "苏州图书馆 借阅台",
    "Suzhou Municipal Hospital - Outpatient reception": "苏州市立医院 门诊服务台",
    "Suzhou Rail Transit - Suzhou Railway Station": "苏州轨道交通 苏州火车站站",
    "Rongcheng Heating - Customer hall": "荣成热力 客户服务大厅",
    "Rongcheng Bank - Loans counter": "荣成农商银行 贷款柜台",
    "Rongcheng People's Hospital - Check-up centre": "荣成市人民医院 体检中心",
    "Rongcheng Housing - Lettings office": "荣成住房租赁 服务处",
    "CityShare bikes, cars & flats - Service point": "城市共享单车、汽车与公寓 服务点",
}

# (label, phone, {scheme: score}) -- scores chosen inside every band, none of them a round number
# except the Osmanthus base score, which is the scheme's sign-up value.
CITIZENS = [
    ("Moli, building credit", "+8613900000101", {"moli": 541}),
    ("Moli, good credit", "+8613900000102", {"moli": 637}),
    ("Moli >= 683 (Gulou office perks)", "+8613900000103", {"moli": 684}),
    ("Moli >= 686 (office + metro 20%)", "+8613900000104", {"moli": 713}),
    ("Bailu poor", "+8613900000201", {"bailu": 436}),
    ("Bailu fair", "+8613900000202", {"bailu": 553}),
    ("Bailu good (deposit-free library)", "+8613900000203", {"bailu": 647}),
    ("Bailu excellent", "+8613900000204", {"bailu": 762}),
    ("Bailu outstanding", "+8613900000205", {"bailu": 853}),
    ("Osmanthus base", "+8613900000301", {"osmanthus": 100}),
    ("Osmanthus credited", "+8613900000302", {"osmanthus": 108}),
    ("Osmanthus transit + longer loans", "+8613900000303", {"osmanthus": 117}),
    ("Osmanthus honoured (hospital priority)", "+8613900000304", {"osmanthus": 126}),
    ("Osmanthus model citizen", "+8613900000305", {"osmanthus": 163}),
    ("Rongcheng D", "+8613900000401", {"rongcheng": 512}),
    ("Rongcheng C", "+8613900000402", {"rongcheng": 733}),
    ("Rongcheng B", "+8613900000403", {"rongcheng": 907}),
    ("Rongcheng A (deposit exemption)", "+8613900000404", {"rongcheng": 1004}),
    ("Rongcheng AA (loans, check-ups)", "+8613900000405", {"rongcheng": 1037}),
    ("Rongcheng AAA (heating discount)", "+8613900000406", {"rongcheng": 1076}),
    ("Sesame not so good", "+8613900000501", {"sesame": 487}),
    ("Sesame okay", "+8613900000502", {"sesame": 573}),
    ("Sesame good (bikes)", "+8613900000503", {"sesame": 622}),
    ("Sesame excellent (bikes, cars)", "+8613900000504", {"sesame": 671}),
    ("Sesame super (bikes, cars, flats)", "+8613900000505", {"sesame": 788}),
    ("Two schemes: Moli + Sesame", "+8613900000601", {"moli": 697, "sesame": 731}),
]


def demo_phones() -> list[str]:
    return [c[1] for c in CITIZENS]


def _reset() -> None:
    names = list(PARTNERS)
    venue_ids = [v for (v,) in db.session.execute(
        select(Venue.id).join(Partner, Partner.id == Venue.partner_id).where(Partner.name.in_(names)))]
    if venue_ids:
        db.session.execute(delete(Redemption).where(Redemption.venue_id.in_(venue_ids)))
        db.session.execute(delete(EnrolmentCode).where(EnrolmentCode.venue_id.in_(venue_ids)))
        db.session.execute(delete(Device).where(Device.venue_id.in_(venue_ids)))
        db.session.execute(delete(Venue).where(Venue.id.in_(venue_ids)))
    db.session.execute(delete(Partner).where(Partner.name.in_(names)))
    db.session.commit()
    for phone in demo_phones():
        c = db.session.scalars(select(Citizen).where(Citizen.phone_hash == auth_service.phone_hash(phone))).first()
        if c is not None:
            score_service.opt_out(c)


def _citizen(phone: str, now: int) -> Citizen:
    p_hash = auth_service.phone_hash(phone)
    c = db.session.scalars(select(Citizen).where(Citizen.phone_hash == p_hash)).first()
    if c is None:
        version = settings().consent_version
        c = Citizen(public_id="c_" + uuid.uuid4().hex[:24], phone_hash=p_hash, phone_hint=phone[-4:],
                    locale="zh-CN", created_at=now)
        c.consents.append(Consent(version=version, accepted_at=now, text_sha256=consent_texts.sha256(version)))
        db.session.add(c)
        db.session.flush()
    return c


def seed_demo(now: int, reset: bool = False) -> dict:
    if reset:
        _reset()
    catalogue = get_catalogue()
    venues_out = []
    for pname, venues in PARTNERS.items():
        partner = db.session.scalars(select(Partner).where(Partner.name == pname)).first()
        if partner is None:
            partner = partner_service.create_partner(pname, now, contact="demo")
        for vname, audience, perks in venues:
            venue = db.session.scalars(select(Venue).where(Venue.partner_id == partner.id, Venue.name == vname)).first()
            if venue is None:
                venue = partner_service.create_venue(partner.id, vname, audience, perks, now,
                                                     name_zh=VENUE_NAMES_ZH.get(vname))
            elif venue.name_zh is None and vname in VENUE_NAMES_ZH:  # a demo database from before the names
                venue.name_zh = VENUE_NAMES_ZH[vname]
                db.session.commit()
            code, _row = partner_service.create_enrolment_code(venue.id, now)
            venues_out.append({"partner": pname, "venue_id": venue.id, "venue": vname, "audience": audience,
                               "perks": list(venue.perk_codes), "enrolment_code": code})
    citizens_out = []
    for label, phone, scores in CITIZENS:
        c = _citizen(phone, now)
        joined = {m.scheme.code for m in c.memberships}
        # only a new membership gets the demo score: re-running leaves existing demo data (and what the
        # ledger demo or a visitor did with it since) as it is. Through the operator import, so demo events
        # carry codes like every import (the demo's scores "come from the city's previous system")
        rows = [{"phone": phone, "scheme": scheme, "score": score, "reason": "legacy-migration",
                 "source_system": "legacy-score-archive"} for scheme, score in scores.items() if scheme not in joined]
        if rows:
            score_service.import_rows(rows, now=now, actor="seed-demo")
        db.session.commit()
        perks = []
        bands = {}
        for scheme, score in scores.items():
            cfg = catalogue.schemes[scheme]
            bands[scheme] = cfg.band_for(score).code
            perks.extend(p.code for p in cfg.eligible(score))
        citizens_out.append({"label": label, "phone": phone, "citizen_id": c.public_id, "scores": scores,
                             "bands": bands, "perks": perks,
                             "audiences": sorted({catalogue.perks[p].audience for p in perks})})
    token = create_token("seed-demo", now)
    return {"venues": venues_out, "citizens": citizens_out, "operator_token": token,
            "issuer": settings().issuer}


def print_summary(out: dict, echo) -> None:
    echo(f"Perkpass demo data (issuer {out['issuer']})")
    echo("")
    echo("Venues and one-time kiosk enrolment codes (fresh on every run):")
    for v in out["venues"]:
        echo(f"  [{v['venue_id']:>2}] {v['venue']:<55} {v['audience']:<10} {v['enrolment_code']}  "
             f"perks: {', '.join(v['perks'])}")
    echo("")
    echo("Citizens (log in with the phone; in dev mode the code comes back as dev_code):")
    for c in out["citizens"]:
        bands = ", ".join(f"{k} {v}" for k, v in c["bands"].items())
        echo(f"  {c['phone']}  {c['label']:<40} band: {bands:<22} perks: {', '.join(c['perks']) or '-'}")
    if out.get("activity"):
        a = out["activity"]
        echo("")
        echo(f"Console activity since {a['first_day']} (generated, up to now): {a['kiosks']} demo kiosks reporting, "
             f"{a['issued_codes']:,} codes issued, {a['grants']:,} grants, {a['refusals']:,} refusals, "
             f"{a['replays']} codes replayed at two stations")
    echo("")
    echo(f"Operator API token: {out['operator_token']}")
    echo("")
    echo("Try it:")
    echo("  curl -s -XPOST localhost:5000/api/v1/auth/request-code -H 'Content-Type: application/json' "
         "-d '{\"phone\": \"+8613900000104\"}'")
    echo("  curl -s -XPOST localhost:5000/api/v1/auth/login -H 'Content-Type: application/json' "
         "-d '{\"phone\": \"+8613900000104\", \"code\": \"<dev_code>\"}'")
    echo("  curl -s -XPOST localhost:5000/api/v1/credentials -H 'Authorization: Bearer <access_token>' "
         "-H 'Content-Type: application/json' -d '{\"audience\": \"metro\"}'")
    echo("  curl -s localhost:5000/api/v1/trust-list > trust.jws; curl -s localhost:5000/api/v1/trust-root")
