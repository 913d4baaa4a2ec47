"""A kiosk's report about itself (issue 13): app version, trust list, uploads waiting and whole-day scan
counts by result, so the console can show refusals per venue. Counts only, no personal data."""
import logging

from flask import Blueprint, g

from ..http.log import event
from ..schemas.console import KioskReportIn, KioskReportOut
from ..services import console as console_service
from .common import endpoint, now

bp = Blueprint("kiosk_report", __name__, url_prefix="/api/v1/kiosk")
log = logging.getLogger("perkpass.kiosk")


@endpoint(bp, "/report", "POST", summary="The kiosk's state and daily scan counts by result (optional).",
          auth="device", body=KioskReportIn, response=KioskReportOut, errors=(403,),
          description="Sent after each sync round. Every field is optional; days are whole-day totals that "
                      "replace what was stored for that day, so re-sending is harmless.")
def report(data):
    out = console_service.record_kiosk_report(g.device, data, now())
    event(log, "kiosk.reported", device_id=g.device.public_id, days=len(data.get("scans") or []))
    return out
