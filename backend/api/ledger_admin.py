"""Operator administration of the ledger: data providers, reviewers, the catalogue (four eyes), the audit log."""
import logging

from flask import Blueprint, g

from ..http.log import event
from ..schemas.ledger import (AuditOut, AuditQuery, AuditVerifyOut, CatalogueChangeIn, CatalogueChangeOut,
                              CatalogueChangesOut, CatalogueChangesQuery, CatalogueOut, CatalogueQuery,
                              ProviderCreatedOut, ProviderIn, ProviderListOut, ProviderOut, ReviewerCreatedOut,
                              ReviewerIn, ReviewerListOut, ReviewerOut)
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
                                      categories=data.get("categories"), actor=_actor(), name_zh=data.get("name_zh"),
                                      reference_format=data["reference_format"])
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


# ------------------------------------------------------------------ catalogue (four eyes)

@endpoint(bp, "/catalogue", summary="Approved catalogue entries (rules, categories, providers, source systems, "
                                    "reason codes).", auth="operator", response=CatalogueOut)
def catalogue_entries():
    q = query(CatalogueQuery)
    return {"entries": [ledger.entry_dict(e) for e in ledger.catalogue_entries(q.get("kind"))]}


@endpoint(bp, "/catalogue/changes", summary="Catalogue changes (pending by default, oldest first).", auth="operator",
          response=CatalogueChangesOut)
def catalogue_changes():
    q = query(CatalogueChangesQuery)
    return {"changes": [ledger.change_dict(c, _actor()) for c in ledger.catalogue_changes(q["status"])]}


@endpoint(bp, "/catalogue/changes", "POST", summary="Propose a catalogue entry or a change to one.", auth="operator",
          body=CatalogueChangeIn, response=CatalogueChangeOut, status=201, errors=(409, 422),
          description="It takes effect when a different operator approves it (four eyes). A code, label or format "
                      "naming a forbidden category of personal data is refused with 422 forbidden_data and nothing "
                      "is stored.")
def propose_change(data):
    c = ledger.propose(data["kind"], data["code"], data["labels"], data["data"], _actor(), now(),
                       scope=data.get("scope") or "")
    event(log, "ledger.catalogue_proposed", change=c.id, kind=c.kind, operator=g.operator.id)
    return ledger.change_dict(c, _actor())


@endpoint(bp, "/catalogue/changes/<int:change_id>/approve", "POST", summary="Approve a pending catalogue change "
          "(not your own).", auth="operator", response=CatalogueChangeOut, errors=(403, 404, 409))
def approve_change(change_id):
    c = ledger.decide_change(change_id, True, _actor(), now())
    event(log, "ledger.catalogue_approved", change=c.id, operator=g.operator.id)
    return ledger.change_dict(c, _actor())


@endpoint(bp, "/catalogue/changes/<int:change_id>/reject", "POST", summary="Reject a pending catalogue change "
          "(not your own).", auth="operator", response=CatalogueChangeOut, errors=(403, 404, 409))
def reject_change(change_id):
    c = ledger.decide_change(change_id, False, _actor(), now())
    event(log, "ledger.catalogue_rejected", change=c.id, operator=g.operator.id)
    return ledger.change_dict(c, _actor())
