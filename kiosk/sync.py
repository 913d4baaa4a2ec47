"""Talking to the backend: enrolment, trust-list refresh (ETag) and redemption upload, in the background.

Nothing here is needed to *verify* a code: the kiosk verifies offline. The network only brings a newer trust
list and takes the redemption log to the backend. Upload is idempotent by the client-generated redemption
id (see :mod:`kiosk.store`), so a kill at any moment, a timeout or a retry never loses or doubles a row.

Only the standard library is used for HTTP (urllib), so the kiosk has no extra dependency for it.
"""
from __future__ import annotations

import enum
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from collections.abc import Callable
from typing import Any

from partner_sdk import upload
from partner_sdk.upload import Outcome, RedemptionItem

from .store import Store

log = logging.getLogger("kiosk.sync")

APP_VERSION = "0.1"
USER_AGENT = "perkpass-kiosk/" + APP_VERSION
MAX_BATCH = upload.MAX_ITEMS  # the backend's limit per request


class BackendError(Exception):
    """An HTTP-level answer from the backend that is not a success."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


class BackendUnreachable(Exception):
    """No answer at all (DNS, refused, timeout, TLS)."""


def normalise_base_url(url: str) -> str:
    url = (url or "").strip()
    if url and "://" not in url:
        url = "http://" + url
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("the backend address must look like https://perkpass.example.city")
    return url.rstrip("/")


class BackendClient:
    def __init__(self, base_url: str, device_token: str | None = None, timeout: float = 5.0):
        self.base_url = normalise_base_url(base_url)
        self.device_token = device_token
        self.timeout = timeout

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/")

    def _request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                 auth: bool = False) -> tuple[int, dict[str, str], bytes]:
        data = None
        hdrs = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if auth and self.device_token:
            hdrs["Authorization"] = "Bearer " + self.device_token
        hdrs.update(headers or {})
        # http(s) only: normalise_base_url() and url() admit no other scheme
        req = urllib.request.Request(self.url(path), data=data, headers=hdrs, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - as above
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read(4_000_000)
        except urllib.error.HTTPError as exc:
            payload = exc.read(100_000) if exc.fp is not None else b""
            return exc.code, {k.lower(): v for k, v in (exc.headers or {}).items()}, payload
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise BackendUnreachable(str(getattr(exc, "reason", exc))) from exc

    @staticmethod
    def _error(status: int, payload: bytes) -> BackendError:
        try:
            err = json.loads(payload or b"{}").get("error") or {}
        except (ValueError, AttributeError):
            err = {}
        return BackendError(status, str(err.get("code", f"http_{status}")),
                            str(err.get("message", f"HTTP {status}")), err.get("fields"))

    # -- endpoints --------------------------------------------------------------------------
    def health(self) -> bool:
        try:
            status, _, _ = self._request("GET", "/api/v1/health")
        except BackendUnreachable:
            return False
        return status == 200

    def enroll(self, enrolment_code: str, device_name: str) -> dict[str, Any]:
        status, _, payload = self._request("POST", "/api/v1/kiosk/enroll",
                                           {"enrolment_code": enrolment_code, "device_name": device_name})
        if status not in (200, 201):
            raise self._error(status, payload)
        return json.loads(payload)

    def fetch_trust_list(self, url: str, etag: str | None) -> tuple[int, bytes, str | None]:
        headers = {"Accept": "application/jwt"}
        if etag:
            headers["If-None-Match"] = etag
        status, hdrs, payload = self._request("GET", url, headers=headers)
        if status == 304:
            return 304, b"", etag
        if status != 200:
            raise self._error(status, payload)
        return 200, payload, hdrs.get("etag")

    def report(self, body: dict[str, Any]) -> None:
        """POST /api/v1/kiosk/report: the kiosk's state and daily scan counts (counts only)."""
        status, _, payload = self._request("POST", "/api/v1/kiosk/report", body, auth=True)
        if status != 200:
            raise self._error(status, payload)

    def upload(self, redemptions: list[RedemptionItem]) -> dict[str, Any]:
        """POST the batch (partner_sdk.upload); the backend's answer as it came (read it with upload.acknowledged)."""
        status, _, payload = self._request("POST", upload.PATH, {"redemptions": redemptions}, auth=True)
        if status != 200:
            raise self._error(status, payload)
        return json.loads(payload)


class SyncMode(str, enum.Enum):
    """How the kiosk stands with its backend (a str: it is also what the automation channel reports)."""

    STANDALONE = "standalone"      # no backend: enrolled from a file, the log stays here
    ONLINE = "online"
    OFFLINE = "offline"            # backend unreachable: scanning goes on, uploads wait
    UNAUTHORISED = "unauthorised"  # the backend refuses this kiosk's token (401/403)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SyncStatus:
    mode: SyncMode = SyncMode.STANDALONE
    last_sync: float | None = None    # epoch seconds of the last complete upload round
    last_attempt: float | None = None
    last_error: str = ""
    pending: int = 0
    uploaded_total: int = 0
    trust_checked: float | None = None
    failures: int = 0                 # failed rounds in a row (offline or unauthorised)
    retry_at: float | None = None     # when the next round runs by itself (a scan or "Sync now" runs one sooner)


class SyncService:
    """Background thread: check the backend, refresh the trust list, upload pending redemptions.

    ``trust_loader(body, etag)`` adopts a new trust list (it belongs to the app, which owns the TrustStore).
    ``on_status(SyncStatus)`` is called from the sync thread after each round.
    """

    def __init__(self, store: Store, client: BackendClient | None, *, trust_url: str | None,
                 trust_etag: Callable[[], str | None], trust_loader: Callable[[bytes, str | None], None],
                 trust_needs_refresh: Callable[[], bool], on_status: Callable[[SyncStatus], None] | None = None,
                 report: Callable[[], dict[str, Any]] | None = None,
                 interval: float = 10.0, offline_interval: float = 20.0, trust_interval: float = 600.0,
                 batch_size: int = MAX_BATCH, clock: Callable[[], float] = time.time,
                 retry_cap: float | None = None, rand: Callable[[], float] = random.random):
        self.store = store
        self.client = client
        self.trust_url = trust_url
        self.trust_etag = trust_etag
        self.trust_loader = trust_loader
        self.trust_needs_refresh = trust_needs_refresh
        self.on_status = on_status
        self.report = report
        self.interval = interval
        self.offline_interval = offline_interval
        self.trust_interval = trust_interval
        self.batch_size = max(1, min(int(batch_size), MAX_BATCH))
        self.clock = clock
        # a backend that is down, or refuses this kiosk, is asked less and less often, up to retry_cap; the
        # jitter keeps a city's kiosks from all coming back at the same second after an outage
        self.retry_cap = (retry_cap if retry_cap is not None
                          else max(offline_interval, min(300.0, 10 * offline_interval)))
        self.rand = rand
        self._next_wait = offline_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._round_lock = threading.Lock()
        self._last_trust = 0.0
        last = store.get("last_sync")
        self.status = SyncStatus(mode=SyncMode.STANDALONE if client is None else SyncMode.OFFLINE,
                                 last_sync=last, pending=store.pending_count(),
                                 uploaded_total=int(store.get("uploaded_total", 0) or 0))

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kiosk-sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self, force_trust: bool = False) -> None:
        """Run a round now (a new redemption was logged, or staff pressed "Sync now")."""
        if force_trust:
            self._last_trust = 0.0
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the sync thread must survive anything
                log.exception("sync round failed")
            self._wake.wait(self._next_wait)
            self._wake.clear()

    def _one_by_one(self, batch) -> dict[str, Any] | None:
        """Upload a refused batch row by row. Returns a combined answer, or None when the network failed."""
        assert self.client is not None, "run_once() returns before uploading without a client"
        results = []
        for r in batch:
            try:
                one = self.client.upload([r.to_wire()])
                results.extend(one.get("results", []))
            except BackendError as exc:
                if exc.status != 400:
                    self._publish(mode=SyncMode.UNAUTHORISED if exc.status in (401, 403) else SyncMode.ONLINE,
                                  last_error=str(exc), pending=self.store.pending_count())
                    return None
                log.error("backend rejected redemption %s (%s): kept locally as rejected", r.id, exc.fields)
                results.append({"id": r.id, "status": Outcome.REJECTED})
            except BackendUnreachable as exc:
                self._publish(mode=SyncMode.OFFLINE, last_error=str(exc), pending=self.store.pending_count())
                return None
        return {"results": results}

    # -- one round ---------------------------------------------------------------------------
    def _publish(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        if self.on_status is not None:
            try:
                self.on_status(self.status)
            except Exception:
                log.exception("status callback failed")

    def run_once(self) -> SyncStatus:
        with self._round_lock:
            self._round()
            self._schedule_next()
            return self.status

    def _schedule_next(self) -> None:
        """After a round: the wait before the next one (the interval online, backing off after failures)."""
        mode = self.status.mode
        if mode is SyncMode.OFFLINE or mode is SyncMode.UNAUTHORISED:
            failures = self.status.failures + 1
            wait = backoff_delay(failures, base=self.offline_interval, cap=self.retry_cap, rand=self.rand)
        else:
            failures = 0
            wait = self.interval if mode is SyncMode.ONLINE else self.offline_interval
        self._next_wait = wait
        # no callback: the round has just reported; this only says when the next one comes
        self.status = replace(self.status, failures=failures, retry_at=self.clock() + wait)

    def _round(self) -> SyncStatus:
        now = self.clock()
        if self.client is None:
            self._publish(mode=SyncMode.STANDALONE, pending=self.store.pending_count())
            return self.status
        if not self.client.health():
            self._publish(mode=SyncMode.OFFLINE, last_attempt=now, last_error="backend unreachable",
                          pending=self.store.pending_count())
            return self.status
        error = ""
        # 1. trust list (ETag: usually a cheap 304)
        if self.trust_url and (now - self._last_trust >= self.trust_interval or self.trust_needs_refresh()):
            try:
                status, body, etag = self.client.fetch_trust_list(self.trust_url, self.trust_etag())
                if status == 200:
                    self.trust_loader(body, etag)
                self._last_trust = now
                self._publish(trust_checked=now)
            except BackendUnreachable as exc:
                self._publish(mode=SyncMode.OFFLINE, last_attempt=now, last_error=str(exc))
                return self.status
            except Exception as exc:  # noqa: BLE001 - bad list: keep the old one, say why
                log.warning("trust list refresh failed: %s", exc)
                error = f"trust list: {exc}"
        # 2. redemptions, oldest first, until none are left
        if not self.client.device_token:
            self._publish(mode=SyncMode.ONLINE, last_attempt=now, last_error=error, pending=self.store.pending_count())
            return self.status
        uploaded = 0
        while not self._stop.is_set():
            batch = self.store.pending(self.batch_size)
            if not batch:
                break
            answer: dict[str, Any] | None
            try:
                answer = self.client.upload([r.to_wire() for r in batch])
            except BackendUnreachable as exc:
                self._publish(mode=SyncMode.OFFLINE, last_attempt=now, last_error=str(exc),
                              pending=self.store.pending_count())
                return self.status
            except BackendError as exc:
                if exc.status == 400 and len(batch) > 0:
                    # the backend refuses the batch: find the row(s) it refuses, one by one, and set them
                    # aside ("rejected", kept locally) so one bad row cannot block the queue forever
                    answer = self._one_by_one(batch)
                    if answer is None:
                        return self.status
                else:
                    mode = SyncMode.UNAUTHORISED if exc.status in (401, 403) else SyncMode.ONLINE
                    self._publish(mode=mode, last_attempt=now, last_error=str(exc),
                                  pending=self.store.pending_count())
                    return self.status
            acked = []
            for rid, outcome, reason in upload.acknowledged(answer, (r.id for r in batch)):
                # a rejected item (wrong venue, impossible time...) is done: it is kept locally, never re-sent
                acked.append((rid, outcome))
                if outcome is Outcome.REJECTED:
                    log.warning("backend rejected redemption %s: %s", rid, reason or "no reason given")
            marked = self.store.mark_synced(acked, self.clock())
            uploaded += marked
            if marked == 0:  # the backend acknowledged nothing: do not spin
                error = "backend acknowledged no redemption in the batch"
                break
        if self.report is not None:
            try:  # 3. the kiosk's own state and refusal counts for the console; never blocks a round
                self.client.report(self.report())
            except (BackendError, BackendUnreachable) as exc:
                log.info("kiosk report not accepted: %s", exc)
            except Exception:
                log.exception("building the kiosk report failed")
        total = int(self.store.get("uploaded_total", 0) or 0) + uploaded
        done = self.clock()
        values: dict[str, Any] = {"uploaded_total": total}
        if not error:
            values["last_sync"] = done
        self.store.set_many(values)
        self._publish(mode=SyncMode.ONLINE, last_attempt=now, last_error=error,
                      last_sync=done if not error else self.status.last_sync,
                      pending=self.store.pending_count(), uploaded_total=total)
        return self.status


def backoff_delay(failures: int, *, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds to wait after ``failures`` failed rounds in a row: capped exponential backoff with equal jitter,
    a uniform draw between half and all of ``min(cap, base * 2 ** (failures - 1))``. ``rand`` returns [0, 1)."""
    if failures <= 0:
        return base
    ceiling = min(cap, base * 2.0 ** min(failures - 1, 32))
    return ceiling / 2 + rand() * ceiling / 2

