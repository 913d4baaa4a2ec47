"""Pluggable one-time-code senders. Configure with PERKPASS_SMS_SENDER:
``console`` (development), ``outbox`` (keeps messages in memory, for tests and staging) or
``package.module:ClassName`` for a real SMS gateway class with ``send_code(phone, code, locale)``.

A gateway class is built once when the app starts (a missing module or class refuses to start, naming
PERKPASS_SMS_SENDER), may say what it still needs with ``check() -> str | None`` (its credentials, its
gateway answering: the readiness check asks it), and may raise from ``send_code`` when it cannot send,
which answers 503 ``sms_unavailable``, never a 500."""
from __future__ import annotations

import importlib
import sys
import threading


class SenderConfigError(ValueError):
    """PERKPASS_SMS_SENDER names no usable sender."""


class Sender:
    def send_code(self, phone: str, code: str, locale: str = "zh-CN") -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def check(self) -> str | None:
        """What this sender still needs before it can send (a credential, its gateway), or None when ready."""
        return None


def sender_problem(sender: object) -> str | None:
    """Why ``sender`` cannot send now, from its own ``check()`` (None when it has none or it is ready)."""
    check = getattr(sender, "check", None)
    if not callable(check):
        return None
    try:
        problem = check()
    except Exception as exc:  # noqa: BLE001 - a city's gateway class may fail in any way: that is the answer
        return f"{type(exc).__name__}: {exc}"
    return str(problem) if problem else None


def mask_phone(phone: str) -> str:
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) > 7 else "***"


class ConsoleSender(Sender):
    """Prints the code to the server's stderr (development only; production refuses it)."""

    def send_code(self, phone: str, code: str, locale: str = "zh-CN") -> None:
        msg = (f"【Perkpass】您的登录验证码是 {code}，5分钟内有效。" if locale == "zh-CN"
               else f"Perkpass: your log-in code is {code}. It expires in 5 minutes.")
        print(f"[perkpass sms to {mask_phone(phone)}] {msg}", file=sys.stderr, flush=True)


class OutboxSender(Sender):
    """Keeps sent messages in memory (``outbox``), newest last."""

    def __init__(self) -> None:
        self.outbox: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send_code(self, phone: str, code: str, locale: str = "zh-CN") -> None:
        with self._lock:
            self.outbox.append((phone, code))

    def last_code(self, phone: str) -> str | None:
        for p, c in reversed(self.outbox):
            if p == phone:
                return c
        return None


def load_sender(spec: str) -> Sender:
    if spec == "console":
        return ConsoleSender()
    if spec == "outbox":
        return OutboxSender()
    module_name, _, cls_name = spec.partition(":")
    if not cls_name:
        raise SenderConfigError(f"PERKPASS_SMS_SENDER must be 'console', 'outbox' or 'module:Class', not {spec!r}")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
        sender = cls()
    except Exception as exc:  # import, lookup or construction: each means the setting is unusable
        raise SenderConfigError(f"PERKPASS_SMS_SENDER={spec!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    if not callable(getattr(sender, "send_code", None)):
        raise SenderConfigError(f"PERKPASS_SMS_SENDER={spec!r} has no send_code(phone, code, locale) method")
    return sender
