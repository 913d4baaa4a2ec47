"""Operator API: partners, venues, enrolment codes, devices, score imports, replay report, keys."""
import logging

from flask import Blueprint, g
from sqlalchemy import select

from ..extensions import db
from ..http.log import event
from ..models import Device, Partner, Venue
from ..schemas.operator import (DeviceListOut, DeviceOut, EnrolmentCodeIn, EnrolmentCodeOut, ImportReportOut,
                                KeyListOut, KeyOut, PartnerIn, PartnerListOut, PartnerOut, ReplayReportOut, RotateIn,
                                SchemeListOut, ScoreImportIn, VenueIn, VenueOut)
from ..services import keys as key_service
from ..services import partners as partner_service
from ..services import redemptions as redemption_service
from ..services import scores as score_service
from ..services.perks import get_catalogue
from .common import endpoint, now

bp = Blueprint("operator", __name__, url_prefix="/api/v1/operator")
log = logging.getLogger("perkpass.operator")


def venue_dict(v: Venue) -> dict:
    return {"id": v.id, "partner_id": v.partner_id, "name": v.name, "name_zh": v.name_zh, "audience": v.audience,
            "perks": list(v.perk_codes), "active": v.active, "created_at": v.created_at}


def partner_dict(p: Partner) -> dict:
    return {"id": p.id, "name": p.name, "contact": p.contact, "created_at": p.created_at,
            "venues": [venue_dict(v) for v in p.venues]}


def device_dict(d: Device) -> dict:
    return {"id": d.public_id, "venue_id": d.venue_id, "name": d.name, "created_at": d.created_at,
            "last_seen_at": d.last_seen_at, "revoked_at": d.revoked_at}


@endpoint(bp, "/schemes", summary="The configured schemes, bands and perks.", auth="operator",
          response=SchemeListOut)
def schemes():
    out = []
    for s in get_catalogue().schemes.values():
        out.append({"code": s.code, "name": s.name, "city": s.city, "range": {"min": s.min, "max": s.max},
                    "base": s.base, "bands": [{"code": b.code, "min": b.min, "label": b.label} for b in s.bands],
                    "perks": [dict(p.public(), rule=p.rule, discloses_band=p.discloses_band) for p in s.perks]})
    return {"schemes": out}


@endpoint(bp, "/partners", summary="All partners with their venues.", auth="operator", response=PartnerListOut)
def list_partners():
    return {"partners": [partner_dict(p) for p in db.session.scalars(select(Partner).order_by(Partner.id))]}


@endpoint(bp, "/partners", "POST", summary="Add a partner.", auth="operator", body=PartnerIn, response=PartnerOut,
          status=201, errors=(409,))
def create_partner(data):
    p = partner_service.create_partner(data["name"], now(), data.get("contact"))
    event(log, "operator.partner_created", partner_id=p.id, operator=g.operator.id)
    return partner_dict(p)


@endpoint(bp, "/venues", "POST", summary="Add a venue to a partner.", auth="operator", body=VenueIn,
          response=VenueOut, status=201, errors=(404,))
def create_venue(data):
    v = partner_service.create_venue(data["partner_id"], data["name"], data["audience"], data.get("perks"), now(),
                                     name_zh=data.get("name_zh"))
    event(log, "operator.venue_created", venue_id=v.id, operator=g.operator.id)
    return venue_dict(v)


@endpoint(bp, "/venues/<int(min=1, max=2147483647):venue_id>", summary="One venue.", auth="operator", response=VenueOut,
          errors=(404,))
def get_venue(venue_id):
    return venue_dict(partner_service.get_venue(venue_id))


@endpoint(bp, "/venues/<int(min=1, max=2147483647):venue_id>/enrolment-codes", "POST",
          summary="Create a one-time kiosk enrolment code.", auth="operator", body=EnrolmentCodeIn,
          response=EnrolmentCodeOut, status=201, errors=(404,))
def create_enrolment_code(venue_id, data):
    code, row = partner_service.create_enrolment_code(venue_id, now(), data.get("ttl_seconds"))
    event(log, "operator.enrolment_code_created", venue_id=venue_id, operator=g.operator.id)
    return {"venue_id": venue_id, "enrolment_code": code, "expires_at": row.expires_at}


@endpoint(bp, "/devices", summary="Enrolled kiosks.", auth="operator", response=DeviceListOut)
def list_devices():
    return {"devices": [device_dict(d) for d in db.session.scalars(select(Device).order_by(Device.id))]}


@endpoint(bp, "/devices/<device_id>/revoke", "POST", summary="Revoke a kiosk's device token.", auth="operator",
          response=DeviceOut, errors=(404,))
def revoke_device(device_id):
    d = partner_service.revoke_device(device_id, now())
    event(log, "operator.device_revoked", device_id=d.public_id, operator=g.operator.id)
    return device_dict(d)


@endpoint(bp, "/scores", "POST", summary="Import current scores (absolute values) for enrolled citizens.",
          auth="operator", body=ScoreImportIn, response=ImportReportOut, errors=(422,),
          description="Each row: phone or citizen_id, scheme, score, a registered reason code and source system "
                      "(codes only; `flask scores codes` lists them). Rows for people who have not opted in are "
                      "skipped and never stored. Any bad row refuses the whole request (422 import_refused, "
                      "fields `row N`: `field: problem`) and nothing is stored.")
def import_scores(data):
    report = score_service.import_rows(data["scores"], now=now(), actor=f"operator:{g.operator.id}")
    event(log, "operator.scores_imported", rows=report.rows, imported=report.imported,
          skipped=report.skipped_not_enrolled, pending_review=report.pending_review, operator=g.operator.id)
    return report.to_dict()


@endpoint(bp, "/replays", summary="Codes accepted at more than one venue (cross-venue replay report).",
          auth="operator", response=ReplayReportOut)
def replays():
    return {"replays": redemption_service.replay_report()}


@endpoint(bp, "/keys", summary="Signing keys and the root key, with their states.", auth="operator",
          response=KeyListOut)
def list_keys():
    return {"keys": key_service.listing(now())}


@endpoint(bp, "/keys/rotate", "POST", summary="Publish a new signing key; it signs after activate_in seconds.",
          auth="operator", body=RotateIn, response=KeyOut, status=201)
def rotate_key(data):
    t = now()
    row = key_service.rotate(t, data.get("activate_in"))
    event(log, "operator.key_rotated", kid=row.kid, activates_at=row.activates_at, operator=g.operator.id)
    return next(k for k in key_service.listing(t) if k["kid"] == row.kid)
