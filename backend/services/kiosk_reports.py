"""A kiosk's self-report stored in one statement on PostgreSQL (issue 14; the general path, which SQLite uses,
is ``console.record_kiosk_report``, and both store the same rows: tests/backend/test_kiosk_report_pg.py).

Every kiosk reports after its sync rounds, so in a city this is thousands of calls a second (docs/deploy.md).
Through the ORM it read the report row and each (day, result) row before writing them: six or more round trips
and ~6 ms of CPU. Here the report, the day counts and the kiosk's last_seen_at are one upsert on this thread's
autocommit connection (services/read_conn.py), its own transaction."""
from __future__ import annotations

import json

from ..extensions import db
from ..models import Device
from . import read_conn

# $1 device, $2 now, $3 app version, $4 app version given, $5..$7 trust list seq / issued_at / next_update,
# $8 trust list given, $9 pending, $10 pending given, $11 [[day, result, count]] (each pair once)
_UPSERT = """
WITH report AS (
  INSERT INTO kiosk_reports AS k (device_id, reported_at, app_version, trust_list_seq, trust_list_issued_at,
                                  trust_list_next_update, pending)
  VALUES ($1::integer, $2::bigint, $3::varchar, $5::bigint, $6::bigint, $7::bigint, $9::integer)
  ON CONFLICT (device_id) DO UPDATE SET
    reported_at = excluded.reported_at,
    app_version = CASE WHEN $4::boolean THEN excluded.app_version ELSE k.app_version END,
    trust_list_seq = CASE WHEN $8::boolean THEN excluded.trust_list_seq ELSE k.trust_list_seq END,
    trust_list_issued_at = CASE WHEN $8::boolean THEN excluded.trust_list_issued_at ELSE k.trust_list_issued_at END,
    trust_list_next_update = CASE WHEN $8::boolean THEN excluded.trust_list_next_update
                                  ELSE k.trust_list_next_update END,
    pending = CASE WHEN $10::boolean THEN excluded.pending ELSE k.pending END
), counts AS (
  INSERT INTO kiosk_scan_counts (device_id, day, status, count, reported_at)
  SELECT $1::integer, x->>0, x->>1, (x->>2)::integer, $2::bigint FROM json_array_elements($11::json) AS x
  ON CONFLICT (device_id, day, status) DO UPDATE SET count = excluded.count, reported_at = excluded.reported_at
), seen AS (
  UPDATE devices SET last_seen_at = $2::bigint WHERE id = $1::integer
)
SELECT 1
"""


def _text(v: object) -> str | None:
    return None if v is None else str(v)


def _bool(v: bool) -> str:
    return "t" if v else "f"


def record_pg(device: Device, data: dict, now: int) -> dict:
    """What ``console.record_kiosk_report`` stores, in one statement (PostgreSQL only)."""
    counts: dict[tuple[str, str], int] = {}  # a pair named twice: the later count, as the ORM path keeps it
    stored = 0
    for day in data.get("scans") or []:
        for status, n in day["counts"].items():
            counts[(day["day"], status)] = n
            stored += 1
    tl = data.get("trust_list") or {}
    given = data.get("trust_list") is not None
    read_conn.fetch_prepared(db.engine, "perkpass_kiosk_report", _UPSERT, (
        str(device.id), str(now), data.get("app_version"), _bool("app_version" in data),
        _text(tl.get("seq")), _text(tl.get("issued_at")), _text(tl.get("next_update")), _bool(given),
        _text(data.get("pending")), _bool("pending" in data),
        json.dumps([[d, s, n] for (d, s), n in counts.items()], separators=(",", ":"))), retry=False)
    return {"stored": stored}
