"""Consent texts shown at sign-up. A citizen's acceptance records the version and the text hash."""
from __future__ import annotations

import hashlib

from .errors import Unavailable

TEXTS = {
    "2026-11-01": {
        "en": (
            "Perkpass is voluntary. If you join, the city platform keeps your scheme scores so it can tell "
            "venues which perks you are entitled to. Venues never see your score: a code you show proves only "
            "that you have a perk there, and each type of venue sees a different pseudonym so they cannot link "
            "your visits. We do not store your phone number itself, only a keyed fingerprint to log you in. "
            "We never ingest religious belief, genetic data, fingerprints, blood type or medical history. "
            "You can leave at any time: leaving deletes your account, your scores and the record of where your "
            "codes were used."
        ),
        "zh-CN": (
            "Perkpass 采取自愿原则。加入后，城市平台会保存您在各信用体系中的分数，以便告知服务场所您可享受的权益。"
            "场所永远看不到您的分数：您出示的二维码只证明您在该处享有某项权益，且不同类型的场所看到的是不同的假名，"
            "无法关联您的行踪。我们不保存您的手机号码本身，只保存用于登录的加密指纹。我们从不采集宗教信仰、基因、"
            "指纹、血型或病史信息。您可随时退出：退出将删除您的账户、分数以及二维码使用记录。"
        ),
    },
}


def text_for(version: str) -> dict | None:
    return TEXTS.get(version)


def current_text(version: str) -> dict:
    """What a citizen reads before joining: the configured version, its text and the text's hash.
    Unavailable when the configured version has no text (an operator must fix the configuration)."""
    text = text_for(version)
    if text is None:
        raise Unavailable("The configured consent version has no text.", retry_after=None)
    return {"version": version, "text": text, "sha256": sha256(version)}


def sha256(version: str) -> str:
    t = TEXTS[version]
    return hashlib.sha256((t["en"] + "\n" + t["zh-CN"]).encode("utf-8")).hexdigest()
