"""The kiosk without its face: enrolment, offline verification, the redemption log and sync.

:class:`KioskCore` imports no Kivy, so it runs in tests, benchmarks and on a headless gate controller.
The Kivy app (:mod:`kiosk.app`) drives it and shows what it decides.

Credential parsing and verification belong to ``partner_sdk``: this module only calls
``partner_sdk.Verifier`` with a persistent ``SQLiteReplayCache`` and a ``TrustStore`` that caches the
last good trust list on disk.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

from partner_sdk import (
    FreshnessState,
    PerkpassError,
    SQLiteReplayCache,
    Status,
    TrustStore,
    Verifier,
)

from partner_sdk import upload
from partner_sdk.venue_policy import PolicyState

from . import i18n
from .pin_rule import PIN_MAX_DIGITS, PIN_MIN_DIGITS, is_valid_pin
from .scan.decoder import normalise_scan
from .store import Store, local_day
from .sync import (APP_VERSION, MAX_BATCH, BackendClient, SyncMode, SyncService, SyncStatus,
                   normalise_base_url)

log = logging.getLogger("kiosk")


# A ScanResult status that is not a partner_sdk Status: the kiosk itself failed (or is not enrolled).
KIOSK_ERROR = "ERROR"


class EnrolmentError(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind  # network | refused | file | pin | fields
        self.detail = detail


@dataclass
class ScanResult:
    """What the result screen shows. Never a score, never a band."""

    status: str                    # partner_sdk Status value, or KIOSK_ERROR
    kind: str                      # granted | refused | attention
    perks: tuple[str, ...] = ()    # perk codes granted (or requested)
    source: str = "manual"
    used_at: float | None = None   # REPLAYED: when this kiosk accepted it
    at: float = 0.0
    latency_ms: float | None = None
    redemption_ids: tuple[str, ...] = ()
    detail: str = ""
    seq: int = 0

    def reason(self, lang: str) -> str:
        if self.status == Status.REPLAYED and self.used_at:
            return i18n.tr("reason.REPLAYED_AT", lang, time=time.strftime("%H:%M:%S", time.localtime(self.used_at)))
        return i18n.reason_text(self.status, lang)


@dataclass
class Enrolment:
    device_id: str
    venue: dict[str, Any]
    issuer: str
    root_public_key: Any
    trust_list_url: str | None
    backend_url: str | None
    enrolled_at: float = field(default_factory=time.time)

    @property
    def audience(self) -> str:
        return str(self.venue.get("audience", ""))

    @property
    def venue_name(self) -> str:
        return str(self.venue.get("name", ""))

    def perk_codes(self) -> list[str]:
        return [str(p.get("code")) for p in self.venue.get("perks", []) if isinstance(p, dict) and p.get("code")]

    def to_json(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "venue": self.venue, "issuer": self.issuer,
                "root_public_key": self.root_public_key, "trust_list_url": self.trust_list_url,
                "backend_url": self.backend_url, "enrolled_at": self.enrolled_at}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Enrolment:
        return cls(device_id=str(d.get("device_id") or "standalone"), venue=dict(d["venue"]),
                   issuer=str(d["issuer"]), root_public_key=d["root_public_key"],
                   trust_list_url=d.get("trust_list_url"), backend_url=d.get("backend_url"),
                   enrolled_at=float(d.get("enrolled_at") or time.time()))


class KioskCore:
    """Owns the store, the trust store, the verifier and the sync service."""

    def __init__(self, data_dir: str | os.PathLike[str], *,
                 clock: Callable[[], float] = time.time,
                 on_sync_status: Callable[[SyncStatus], None] | None = None,
                 sync_interval: float = 10.0, sync_batch: int = MAX_BATCH):
        """``data_dir``: where the database and trust list live (kiosk.settings: --data-dir, PERKPASS_KIOSK_HOME);
        ``sync_interval``: seconds between sync rounds online; ``sync_batch``: redemptions per upload request."""
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self.clock_offset = 0.0
        self.store = Store(self.data_dir / "kiosk.sqlite")
        self.replay = SQLiteReplayCache(self.data_dir / "replay.sqlite")
        self.on_sync_status = on_sync_status
        self.sync_interval = sync_interval
        self.sync_batch = sync_batch
        self.trust_store: TrustStore | None = None
        self.verifier: Verifier | None = None
        self.enrolment: Enrolment | None = None
        self.sync: SyncService | None = None
        self._lock = threading.RLock()
        self._seq = 0
        self.last_trust_error = ""
        saved = self.store.get("enrolment")
        if saved:
            try:
                self._activate(Enrolment.from_json(saved))
            except Exception:  # a broken saved enrolment must not brick the kiosk
                log.exception("saved enrolment unusable; the kiosk must be enrolled again")
                self.enrolment = None

    # -- time --------------------------------------------------------------------------------
    def now(self) -> float:
        return self._clock() + self.clock_offset

    # -- enrolment ---------------------------------------------------------------------------
    @property
    def enrolled(self) -> bool:
        return self.enrolment is not None and self.verifier is not None

    def enrol_online(self, backend_url: str, enrolment_code: str, device_name: str, pin: str) -> Enrolment:
        check_pin_format(pin)
        if not backend_url.strip() or not enrolment_code.strip():
            raise EnrolmentError("fields", "backend address and enrolment code are required")
        try:
            url = normalise_base_url(backend_url)
        except ValueError as exc:
            raise EnrolmentError("fields", str(exc)) from exc
        client = BackendClient(url, timeout=10)
        from .sync import BackendError, BackendUnreachable
        try:
            answer = client.enroll(enrolment_code.strip(), device_name.strip() or "kiosk")
        except BackendUnreachable as exc:
            raise EnrolmentError("network", str(exc)) from exc
        except BackendError as exc:
            raise EnrolmentError("refused", exc.message) from exc
        except ValueError as exc:
            raise EnrolmentError("refused", f"unexpected answer: {exc}") from exc
        token = answer.get("device_token")
        return self._enrol(answer, backend_url=url, device_token=token, pin=pin)

    def enrol_from_file(self, path: str | os.PathLike[str], pin: str, backend_url: str | None = None) -> Enrolment:
        check_pin_format(pin)
        try:
            answer = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(answer, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise EnrolmentError("file", str(exc)) from exc
        url = normalise_base_url(backend_url) if backend_url else answer.get("backend_url")
        return self._enrol(answer, backend_url=url, device_token=answer.get("device_token"), pin=pin)

    def _enrol(self, answer: dict[str, Any], *, backend_url: str | None, device_token: str | None,
               pin: str) -> Enrolment:
        try:
            venue = answer["venue"]
            if not isinstance(venue, dict) or not venue.get("audience"):
                raise KeyError("venue.audience")
            enrolment = Enrolment(device_id=str(answer.get("device_id") or "standalone"), venue=venue,
                                  issuer=str(answer["issuer"]), root_public_key=answer["root_public_key"],
                                  trust_list_url=answer.get("trust_list_url"), backend_url=backend_url,
                                  enrolled_at=self.now())
            trust_list = answer["trust_list"]
        except (KeyError, TypeError) as exc:
            raise EnrolmentError("file", f"missing {exc}") from exc
        with self._lock:
            pending = self.store.pending_count()
            if (self.enrolment is not None and pending
                    and str(self.enrolment.venue.get("id")) != str(enrolment.venue.get("id"))):
                # those redemptions were made at the old venue: uploading them with the new enrolment would
                # credit them to the wrong venue (same venue, e.g. an offline kiosk going online: fine)
                raise EnrolmentError("pending", f"{pending} redemptions made at {self.enrolment.venue_name} are "
                                                "not uploaded yet: connect the kiosk and let it sync first")
            # a kiosk re-enrolled for another issuer must not keep the old trust state
            trust_dir = self.data_dir / "trust"
            if self.enrolment is not None and self.enrolment.issuer != enrolment.issuer:
                for f in trust_dir.glob("*"):
                    f.unlink()
            try:
                store = TrustStore(enrolment.root_public_key, cache_dir=trust_dir)
                store.load_bytes(trust_list, now=self.now())
            except (PerkpassError, ValueError, TypeError) as exc:
                raise EnrolmentError("file", f"trust list: {exc}") from exc
            if store.issuer != enrolment.issuer:
                raise EnrolmentError("file", "the trust list belongs to another issuer")
            self.stop_sync()
            values: dict[str, Any] = {"enrolment": enrolment.to_json(), "selected_perk": None}
            self.store.set_many(values)
            if device_token:
                self.store.set("device_token", device_token)
            else:
                self.store.delete("device_token")
            self.store.set_pin(pin)
            self._activate(enrolment, trust_store=store)
        return enrolment

    def _activate(self, enrolment: Enrolment, trust_store: TrustStore | None = None) -> None:
        if trust_store is None:
            trust_store = TrustStore(enrolment.root_public_key, cache_dir=self.data_dir / "trust")
        self.trust_store = trust_store
        self.enrolment = enrolment
        self.verifier = Verifier(trust_store, enrolment.audience, replay_cache=self.replay,
                                 issuer=enrolment.issuer)
        token = self.store.get("device_token")
        client = BackendClient(enrolment.backend_url, device_token=token) if enrolment.backend_url else None
        trust_url = None
        if client is not None and enrolment.trust_list_url:
            trust_url = client.url(enrolment.trust_list_url)
        self.sync = SyncService(
            self.store, client, trust_url=trust_url,
            trust_etag=lambda: self.trust_store.etag if self.trust_store else None,
            trust_loader=self._load_trust_from_backend,
            trust_needs_refresh=lambda: self.freshness().state is not FreshnessState.FRESH,
            on_status=self.on_sync_status, report=self.report, interval=self.sync_interval,
            offline_interval=max(self.sync_interval, min(30.0, 2 * self.sync_interval)),
            batch_size=self.sync_batch, clock=self.now)

    def start_sync(self) -> None:
        if self.sync is not None:
            self.sync.start()

    def stop_sync(self) -> None:
        if self.sync is not None:
            self.sync.stop()

    def close(self) -> None:
        self.stop_sync()
        self.store.close()
        self.replay.close()

    # -- trust list --------------------------------------------------------------------------
    def _load_trust_from_backend(self, body: bytes, etag: str | None) -> None:
        assert self.trust_store is not None
        try:
            self.trust_store.load_bytes(body, now=self.now(), etag=etag)
            self.last_trust_error = ""
        except PerkpassError as exc:
            self.last_trust_error = str(exc)
            raise

    def load_trust_file(self, path: str | os.PathLike[str]) -> int:
        """Staff loads a trust list from a USB stick (offline kiosks). Returns the new sequence."""
        if self.trust_store is None:
            raise EnrolmentError("fields", "the kiosk is not enrolled")
        tl = self.trust_store.load_file(path, now=self.now())
        return tl.sequence

    def freshness(self):
        from partner_sdk import Freshness
        if self.trust_store is None:
            return Freshness(FreshnessState.MISSING)
        return self.trust_store.freshness(self.now())

    def trust_policy(self):
        """Where this kiosk stands in its venue type's policy, learned from the trust list (None without one)."""
        if self.verifier is None:
            return None
        return self.verifier.policy_answer(self.now())

    def venue_type_label(self, language: str) -> str:
        """This venue's type as the trust list names it (the audience code until a list names it)."""
        if self.verifier is None:
            return ""
        return self.verifier.policy.label_in(language)

    def report(self) -> dict[str, Any]:
        """What the kiosk tells the backend about itself after a sync round (counts only, no codes)."""
        out: dict[str, Any] = {"app_version": APP_VERSION, "pending": self.store.pending_count(),
                               "scans": self.store.scan_counts(local_day(self.now() - 3 * 86400))}
        cur = self.trust_store.current if self.trust_store is not None else None
        if cur is not None:
            out["trust_list"] = {"seq": cur.sequence, "issued_at": cur.issued_at, "next_update": cur.next_update}
        return out

    def perk_catalogue(self) -> dict[str, Any]:
        cat: dict[str, Any] = {}
        if self.enrolment is not None:
            for p in self.enrolment.venue.get("perks", []):
                if isinstance(p, dict) and p.get("code"):
                    cat[str(p["code"])] = p
        if self.trust_store is not None:
            for code, entry in dict(self.trust_store.perk_catalogue).items():
                cat.setdefault(code, entry)
        return cat

    # -- settings ----------------------------------------------------------------------------
    @property
    def selected_perk(self) -> str | None:
        return self.store.get("selected_perk")

    def select_perk(self, code: str | None) -> None:
        self.store.set("selected_perk", code)

    # -- scanning ----------------------------------------------------------------------------
    def process(self, text: Any, source: str = "manual", frame_time: float | None = None) -> ScanResult:
        """Verify one scanned text, log it, and return what to show. Thread-safe; never raises."""
        t_start = time.monotonic()
        with self._lock:
            self._seq += 1
            seq = self._seq
            now = self.now()
            try:
                result = self._process(text, source, now)
            except Exception as exc:  # the last line of defence for the desk
                log.exception("processing a scan failed")
                result = ScanResult(status=KIOSK_ERROR, kind="attention", source=source, at=now,
                                    detail=type(exc).__name__)
        t0 = frame_time if frame_time is not None else t_start
        result.latency_ms = (time.monotonic() - t0) * 1000.0
        result.seq = seq
        return result

    def _process(self, text: Any, source: str, now: float) -> ScanResult:
        if self.verifier is None or self.enrolment is None:
            return ScanResult(status=KIOSK_ERROR, kind="attention", source=source, at=now, detail="not enrolled")
        pol = self.trust_policy()
        if pol is not None and pol.state is PolicyState.STOPPED:
            # the venue type's policy from the trust list (partner_sdk.venue_policy): too long without a newer
            # trust list to keep granting; refuse before verifying so the code is not marked as used
            self.store.record_scan(status=Status.TRUST_LIST_EXPIRED.value, source=source, now=now)
            return ScanResult(status=Status.TRUST_LIST_EXPIRED.value, kind=i18n.result_kind(Status.TRUST_LIST_EXPIRED),
                              source=source, at=now, detail=f"freshness policy: stopped granting at {pol.stop_at}")
        clean = normalise_scan(text)
        selected = self.selected_perk
        offered = self.enrolment.perk_codes()
        ask = selected
        if ask is None and len(offered) == 1:
            ask = offered[0]
        decision = self.verifier.verify(clean, perk=ask, now=now)
        status = decision.status.value
        perks: tuple[str, ...] = ()
        if decision.status is Status.GRANTED:
            granted = [ask] if ask else [p for p in decision.perks if not offered or p in offered]
            if not granted:
                # signed for this audience, but none of its perks is offered at this venue
                status = Status.NOT_ENTITLED.value
            perks = tuple(granted)
        else:  # perks the (signed) code carries, for the staff's information; empty for junk
            perks = tuple(p for p in decision.perks if not offered or p in offered)
        used_at = None
        if status == Status.REPLAYED.value and decision.jti:
            earlier = self.store.redemption_for_jti(decision.jti)
            used_at = float(earlier.scanned_at) if earlier else None
        # a PP3 grant is logged without its quota pseudonym (partner_sdk.upload): nothing to join upstream
        made = self.store.record_scan(status=status, source=source, now=now, jti=decision.jti,
                                      pseudonym=upload.reported_pseudonym(decision.jti, decision.pseudonym),
                                      perks=perks if status == Status.GRANTED.value else ())
        if made and self.sync is not None:
            self.sync.wake()
        return ScanResult(status=status, kind=i18n.result_kind(status), perks=perks, source=source,
                          used_at=used_at, at=now, redemption_ids=tuple(r.id for r in made),
                          detail=decision.detail)

    def maybe_prune(self, every: float = 3600.0) -> bool:
        """Drop synced redemptions and statistics older than the retention period (at most hourly)."""
        now = self.now()
        if now - getattr(self, "_last_prune", 0.0) < every:
            return False
        self._last_prune = now
        try:
            self.store.prune(now)
        except Exception:  # housekeeping must never disturb scanning
            log.exception("pruning the local log failed")
            return False
        return True

    # -- statistics --------------------------------------------------------------------------
    def stats_today(self) -> dict[str, dict[str, int]]:
        return self.store.stats_for_day(local_day(self.now()))


@dataclass(frozen=True)
class StatusBar:
    """The texts and levels (ok | warn | bad | info) of the status bar's pills; an empty text hides a pill."""

    net: str
    net_level: str
    trust: str
    trust_level: str
    pending: str
    pending_level: str
    sync: str


_NET_TEXT = {SyncMode.ONLINE: "bar.online", SyncMode.OFFLINE: "bar.offline",
             SyncMode.UNAUTHORISED: "bar.unauthorised", SyncMode.STANDALONE: "bar.standalone"}
_NET_LEVEL = {SyncMode.ONLINE: "ok", SyncMode.OFFLINE: "warn", SyncMode.UNAUTHORISED: "bad",
              SyncMode.STANDALONE: "warn"}


def status_bar(*, mode: SyncMode, freshness: Any, policy: Any, pending: int, uploads: bool,
               last_sync: float | None, lang: str) -> StatusBar:
    """What the status bar says. Pure: the app gathers the facts, this decides the words and the levels.

    ``freshness``: the trust store's :class:`partner_sdk.Freshness`; ``policy``: the venue type's
    freshness-policy evaluation (how long a stale list keeps granting) or None; ``uploads``: False when the
    kiosk has no device token (enrolled from a file: the backend, if any, only gives trust lists).
    """
    state = freshness.state.name
    if policy is not None and state == "STALE":
        state = "GRACE" if policy.state is PolicyState.GRACE else "STOPPED"
    age = i18n.human_age(freshness.age_seconds or 0, lang)
    until = time.strftime("%m-%d %H:%M", time.localtime(policy.stop_at)) if policy is not None else ""
    if mode is SyncMode.STANDALONE or not uploads:
        pending_text = i18n.tr("bar.logged", lang, n=pending)   # the log stays on this kiosk
    else:
        pending_text = i18n.tr("bar.pending", lang, n=pending) if pending else i18n.tr("bar.synced", lang)
    if mode is SyncMode.STANDALONE:
        sync_text = ""      # nothing to report: the pill hides
    elif last_sync:
        sync_text = i18n.tr("bar.last_sync", lang, time=time.strftime("%H:%M", time.localtime(last_sync)))
    else:
        sync_text = i18n.tr("bar.never_synced", lang)
    return StatusBar(net=i18n.tr(_NET_TEXT.get(mode, "bar.standalone"), lang), net_level=_NET_LEVEL.get(mode, "warn"),
                     trust=i18n.tr("bar.trust." + state, lang, age=age, until=until),
                     trust_level={"FRESH": "ok", "GRACE": "warn"}.get(state, "bad"),
                     pending=pending_text,
                     pending_level="warn" if pending and mode is SyncMode.OFFLINE else "info",
                     sync=sync_text)


def check_pin_format(pin: str) -> None:
    if not is_valid_pin(pin):
        raise EnrolmentError("pin", f"PIN must be {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits")
