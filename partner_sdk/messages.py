"""The one text catalogue for what people read about a decision, in English and Simplified Chinese.

Every verifier (the SDK's :attr:`Decision.message`, the kiosk, the backend's citizen answers) takes its words
from here, so one status never says two different things. Per status:

* ``staff``: what a member of staff reads at any device, in plain words, with what to do next;
* ``short``: a few words, for statistics and lists;
* ``kiosk``: the Perkpass kiosk's own wording, only where its staff must do something else (the kiosk
  refreshes its trust list by itself once it is on the network, so "connect it" replaces "update the list");
* ``citizen``: what a citizen reads about this status on their own page, where they can meet it;
* ``severity``: what the answer says about the scan (:class:`Severity`): a possible forgery, a code shown
  again, the device's set-up, the citizen's code, or not a Perkpass code at all. Each severity has one colour
  and one kind of answer screen (:data:`SEVERITIES`), so the kiosk's result screen, the console's charts and
  its tables all read a status the same way from this one table.

The raw score never appears in any text: a decision carries none. Standard library only (the SDK stays
dependency-free).
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from .status import Status


class Text(NamedTuple):
    en: str
    zh: str  # Simplified Chinese

    def get(self, lang: str) -> str:
        """The text in ``lang`` ("zh", "zh-CN", "zh-Hans"… pick Chinese; anything else English)."""
        return self.zh if lang.lower().startswith("zh") else self.en


class Severity(str, enum.Enum):
    """What a scan's answer means for the people who watch the answers (an operator, a partner's support desk),
    most serious first. One per status (:data:`CATALOGUE`); the kiosk's screen follows from it."""
    FORGED = "forged"      # not genuine or withdrawn: bad signature, untrusted issuer, revoked certificate
    REUSED = "reused"      # a code shown again: already used here, or a phone code out of its time (a screenshot?)
    SETUP = "setup"        # the device's own set-up: its trust list, keys, clock or software are out of date
    CITIZEN = "citizen"    # the citizen's code is not for here or now: expired, another venue type, no perk here
    FOREIGN = "foreign"    # not a Perkpass code: a poster, a barcode, another QR symbol
    GRANTED = "granted"


class SeverityInfo(NamedTuple):
    label: Text
    colour: str   # "#rrggbb": at least 3:1 against white (WCAG non-text contrast), told apart under colour blindness
    screen: str   # the kiosk's answer screen: "granted", "refused" (turn away) or "attention" (check, then help)


# The colours: chosen so that every pair stays apart (CIELAB distance >= 25) for normal vision and simulated
# deuteranopia, protanopia and tritanopia (Machado et al. 2009), each >= 3:1 against white; checked in
# tests/sdk/test_severity.py. They differ in lightness as well as hue: forged and reused dark, set-up, citizen
# and foreign light.
SEVERITIES: dict[Severity, SeverityInfo] = {
    Severity.FORGED: SeverityInfo(Text("Not genuine or withdrawn", "非真实或已撤销"), "#A02102", "refused"),
    Severity.REUSED: SeverityInfo(Text("Shown again", "重复出示"), "#7A298D", "attention"),
    Severity.SETUP: SeverityInfo(Text("Device set-up", "设备设置"), "#C27400", "attention"),
    Severity.CITIZEN: SeverityInfo(Text("Not for here or now", "不适用于此时此地"), "#1F7FD6", "refused"),
    Severity.FOREIGN: SeverityInfo(Text("Not a Perkpass code", "非 Perkpass 码"), "#858A99", "refused"),
    Severity.GRANTED: SeverityInfo(Text("Granted", "通过"), "#1D5746", "granted"),
}


class StatusText(NamedTuple):
    staff: Text
    short: Text
    severity: Severity
    kiosk: Text | None = None
    citizen: Text | None = None

    def for_kiosk(self) -> Text:
        return self.kiosk or self.staff


CATALOGUE: dict[Status, StatusText] = {
    Status.GRANTED: StatusText(
        Text("Valid code: perk granted.", "二维码有效：权益已确认。"),
        Text("Granted", "通过"), Severity.GRANTED),
    Status.NOT_ENTITLED: StatusText(
        Text("No perk here for this code: the citizen has no perk of this kind at this venue.",
             "此码不含本场所的权益。"),
        Text("No perk here", "无本处优惠"), Severity.CITIZEN,
        citizen=Text("You have no perk at this type of venue right now, so there is no code to show.",
                     "您目前在此类场所没有可用权益，因此没有可出示的二维码。")),
    Status.EXPIRED: StatusText(
        Text("Code expired: ask the citizen to refresh it.", "二维码已过期：请市民刷新。"),
        Text("Code expired", "二维码过期"), Severity.CITIZEN),
    Status.NOT_YET_VALID: StatusText(
        Text("Code not valid yet: check this device's clock.", "二维码尚未生效：请检查本机时间。"),
        Text("Not valid yet", "尚未生效"), Severity.SETUP),
    Status.REPLAYED: StatusText(
        Text("Already used here just now: this pass was granted a moment ago and is granted once. Do not grant "
             "again.", "刚刚已在本处使用：此码刚核验通过，同一凭证只给予一次，请勿重复给予。"),
        Text("Already used here", "已在本处使用"), Severity.REUSED),
    Status.BAD_SIGNATURE: StatusText(
        Text("Not a genuine Perkpass code: the signature does not match. Do not grant.",
             "不是真实的 Perkpass 二维码：签名不符，请勿授予。"),
        Text("Not genuine", "签名无效"), Severity.FORGED),
    Status.UNKNOWN_KEY: StatusText(
        Text("Signed with a key this device does not know: update the trust list.", "签名密钥未知：请更新信任列表。"),
        Text("Unknown key", "未知密钥"), Severity.SETUP,
        kiosk=Text("Signed with a key this kiosk does not know yet: connect it to the network.",
                   "签名密钥未知：请将本机连接网络以更新。")),
    Status.WRONG_AUDIENCE: StatusText(
        Text("This code is for another kind of venue: ask for this venue's code.",
             "此码用于其他类型的场所：请市民出示本场所的二维码。"),
        Text("Other venue type", "其他场所"), Severity.CITIZEN),
    Status.WRONG_ISSUER: StatusText(
        Text("Issued by someone this device does not trust.", "签发方不受本机信任。"),
        Text("Untrusted issuer", "签发方不受信任"), Severity.FORGED),
    Status.MALFORMED: StatusText(
        Text("Not a Perkpass code: scan the citizen's Perkpass QR.",
             "不是 Perkpass 二维码：请扫描市民的 Perkpass 码。"),
        Text("Not a Perkpass code", "非 Perkpass 码"), Severity.FOREIGN),
    Status.UNSUPPORTED_VERSION: StatusText(
        Text("Code from a newer Perkpass version: update this device.", "二维码版本较新：请更新本机软件。"),
        Text("Newer version", "版本较新"), Severity.SETUP),
    Status.TRUST_LIST_EXPIRED: StatusText(
        Text("Trust list expired: connect this device to update it.", "信任列表已过期：请联网更新。"),
        Text("Trust list expired", "信任列表过期"), Severity.SETUP,
        kiosk=Text("This kiosk's trust list has expired: connect it to the network to refresh.",
                   "本机信任列表已过期：请连接网络更新。")),
    Status.REVOKED: StatusText(
        Text("Code withdrawn by the issuer: do not give the perk.", "此码已被签发方撤销：请勿提供优惠。"),
        Text("Withdrawn", "已撤销"), Severity.FORGED),
    Status.CLOCK_SKEW: StatusText(
        Text("The code's time is off: ask the citizen to check the phone's clock and show the live code, "
             "not a screenshot.", "二维码时间不符：请市民检查手机时间，并出示实时二维码而非截图。"),
        Text("Check phone clock", "请查手机时间"), Severity.REUSED),
}


def severity(status: Status | str) -> Severity:
    """The severity of a status (a :class:`Status` or its name); a name no verifier knows counts as foreign."""
    try:
        return CATALOGUE[Status(status)].severity
    except ValueError:
        return Severity.FOREIGN


def answer_screen(status: Status | str) -> str:
    """The kiosk's answer screen for a status: "granted", "refused" or "attention" (from its severity)."""
    return SEVERITIES[severity(status)].screen


def staff_text(status: Status, lang: str = "en") -> str:
    return CATALOGUE[status].staff.get(lang)


def citizen_text(status: Status, lang: str = "en") -> str | None:
    """What a citizen reads about ``status``; None for a status a citizen never meets on their page."""
    entry = CATALOGUE[status].citizen
    return entry.get(lang) if entry is not None else None
