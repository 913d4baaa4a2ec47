"""Pluggable one-time-code senders. Configure with PERKPASS_SMS_SENDER:
``console`` (development), ``outbox`` (keeps messages in memory, for tests and staging) or
``package.module:ClassName`` for a real SMS gateway class with ``send_code(phone, code, locale)``."""
from __future__ import annotations

import importlib
import sys
import threading


class Sender:
    def send_code(self, phone: str, code: str, locale: str = "zh-CN") -> None:  # pragma: no cover - interface
        raise NotImplementedError


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
        raise ValueError(f"PERKPASS_SMS_SENDER must be 'console', 'outbox' or 'module:Class', not {spec!r}")
    cls = getattr(importlib.import_module(module_name), cls_name)
    sender = cls()
    if not callable(getattr(sender, "send_code", None)):
        raise ValueError(f"{spec} has no send_code(phone, code, locale) method")
    return sender
