"""Operator administration of the ledger: data providers, reviewers, the audit log."""
import logging

from flask import Blueprint, g

from ..logging_setup import event
from ..schemas.ledger import (AuditOut, AuditQuery, AuditVerifyOut, ProviderCreatedOut, ProviderIn, ProviderListOut,
                              ProviderOut, ReviewerCreatedOut, ReviewerIn, ReviewerListOut, ReviewerOut)
from ..services import ledger
from .common import endpoint, now, query

bp = Blueprint("ledger_admin", __name__, url_prefix="/api/v1/operator/ledger")
log = logging.getLogger("perkpass.ledger")


def _actor() -> str:
    return f"operator:{g.operator.id}"


@endpoint(bp, "/providers", summary="Data providers.", auth="operator", response=ProviderListOut)
def list_providers():
    from sqlalchemy import select
    from ..extensions import db
    from ..models import DataProvider
    rows = db.session.scalars(select(DataProvider).order_by(DataProvider.id))
    return {"providers": [ledger.provider_dict(p) for p in rows]}


@endpoint(bp, "/providers", "POST", summary="Add a data provider; its token is shown once.", auth="operator",
          body=ProviderIn, response=ProviderCreatedOut, status=201, errors=(409,))
def create_provider(data):
    p, token = ledger.create_provider(data["code"], data["name"], data["schemes"], now(),
                                      categories=data.get("categories"), actor=_actor(), name_zh=data.get("name_zh"))
    event(log, "ledger.provider_created", provider=p.code, operator=g.operator.id)
    return dict(ledger.provider_dict(p), token=token)


@endpoint(bp, "/providers/<code>/revoke", "POST", summary="Revoke a data provider's token.", auth="operator",
          response=ProviderOut, errors=(404,))
def revoke_provider(code):
    p = ledger.revoke_provider(code[:48], now(), actor=_actor())
    event(log, "ledger.provider_revoked", provider=p.code, operator=g.operator.id)
    return ledger.provider_dict(p)


@endpoint(bp, "/reviewers", summary="Reviewers.", auth="operator", response=ReviewerListOut)
def list_reviewers():
    from sqlalchemy import select
    from ..extensions import db
    from ..models import Reviewer
    return {"reviewers": [ledger.reviewer_dict(r) for r in db.session.scalars(select(Reviewer).order_by(Reviewer.id))]}


@endpoint(bp, "/reviewers", "POST", summary="Add a reviewer; the token is shown once.", auth="operator",
          body=ReviewerIn, response=ReviewerCreatedOut, status=201, errors=(409,))
def create_reviewer(data):
    r, token = ledger.create_reviewer(data["name"], now(), actor=_actor())
    event(log, "ledger.reviewer_created", reviewer=r.id, operator=g.operator.id)
    return dict(ledger.reviewer_dict(r), token=token)


@endpoint(bp, "/reviewers/<int:reviewer_id>/revoke", "POST", summary="Revoke a reviewer's token.", auth="operator",
          response=ReviewerOut, errors=(404,))
def revoke_reviewer(reviewer_id):
    r = ledger.revoke_reviewer(reviewer_id, now(), actor=_actor())
    event(log, "ledger.reviewer_revoked", reviewer=r.id, operator=g.operator.id)
    return ledger.reviewer_dict(r)


@endpoint(bp, "/audit", summary="The append-only audit log: who changed what, oldest first.", auth="operator",
          response=AuditOut, description="Query: after=ID (page after this entry), limit=1..500, action, "
                                         "target_type. Entries carry ids, statuses and point deltas only.")
def audit_log():
    q = query(AuditQuery)
    return ledger.audit_page(q["after"], q["limit"], q.get("action"), q.get("target_type"))


@endpoint(bp, "/audit/verify", summary="Check the audit log's hash chain.", auth="operator", response=AuditVerifyOut)
def audit_verify():
    return ledger.verify_audit()
