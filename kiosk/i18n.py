"""Texts in English and Simplified Chinese, and finding a font that can show them.

Kivy's bundled Roboto has no CJK glyphs. :func:`find_cjk_font` looks for one at run time (shipped in
``assets/fonts/``, Debian's fonts-wqy-microhei / fonts-noto-cjk, Android's system fonts, macOS/Windows)
and the app registers it as the default font, so mixed Latin/Chinese text renders everywhere.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

from partner_sdk.messages import CATALOGUE, answer_screen

LANGUAGES = ("en", "zh-CN")
LANGUAGE_NAMES = {"en": "English", "zh-CN": "中文"}

# Status name -> the answer screen (granted / refused / attention): from each status's severity in
# partner_sdk.messages, the one table the console's charts and tables also read, so a status means the same
# thing at the desk and on the operator's screen.
RESULT_KIND = {status.value: answer_screen(status) for status in CATALOGUE}

TEXTS: dict[str, dict[str, str]] = {
    # result headings
    "result.granted": {"en": "GRANTED", "zh-CN": "通过"},
    "result.refused": {"en": "REFUSED", "zh-CN": "不通过"},
    "result.attention": {"en": "NOT GRANTED", "zh-CN": "未通过"},
    "result.back_in": {"en": "Back to scanning in {n} s - tap to continue",
                       "zh-CN": "{n} 秒后返回扫码 - 轻触立即返回"},
    # what staff read about a decision: partner_sdk.messages' catalogue (added below); only what the kiosk
    # alone can say is here (when this kiosk accepted a replayed code; its own failure)
    "reason.REPLAYED_AT": {"en": "Already used here at {time}: the same pass is granted once. Do not grant again.",
                           "zh-CN": "此码已于 {time} 在本处使用：同一凭证只给予一次，请勿重复给予。"},
    "reason.ERROR": {"en": "The kiosk could not check this code: try again.",
                     "zh-CN": "本机无法核验此码：请重试。"},
    "status.short.ERROR": {"en": "Kiosk error", "zh-CN": "本机错误"},
    # status bar
    "bar.online": {"en": "Online", "zh-CN": "在线"},
    "bar.offline": {"en": "Offline", "zh-CN": "离线"},
    "bar.standalone": {"en": "Offline kiosk", "zh-CN": "离线设备"},
    "bar.unauthorised": {"en": "Kiosk not authorised", "zh-CN": "设备未授权"},
    "bar.trust.FRESH": {"en": "Trust list fresh", "zh-CN": "信任列表最新"},
    "bar.trust.STALE": {"en": "Trust list {age} old", "zh-CN": "信任列表已 {age} 未更新"},
    "bar.trust.EXPIRED": {"en": "Trust list EXPIRED", "zh-CN": "信任列表已过期"},
    "bar.trust.GRACE": {"en": "Trust list {age} old · grants until {until}",
                        "zh-CN": "信任列表已 {age} 未更新 · 可通过至 {until}"},
    "bar.trust.STOPPED": {"en": "Trust list too old: not granting", "zh-CN": "信任列表过旧：暂停通过"},
    "bar.trust.MISSING": {"en": "No trust list", "zh-CN": "无信任列表"},
    "bar.pending": {"en": "{n} to upload", "zh-CN": "待上传 {n}"},
    "bar.logged": {"en": "{n} logged here", "zh-CN": "本机记录 {n}"},
    "bar.synced": {"en": "All uploaded", "zh-CN": "已全部上传"},
    "bar.last_sync": {"en": "Synced {time}", "zh-CN": "同步于 {time}"},
    "bar.never_synced": {"en": "Never synced", "zh-CN": "尚未同步"},
    # scan screen
    "scan.hint": {"en": "Hold the citizen's code up to the camera",
                  "zh-CN": "请将市民的二维码对准摄像头"},
    "scan.hint_scanner": {"en": "or use the hand scanner", "zh-CN": "或使用扫码枪"},
    "scan.hint_nocam": {"en": "Scan the citizen's code with the hand scanner",
                        "zh-CN": "请用扫码枪扫描市民的二维码"},
    "scan.hint_type": {"en": "or type it below", "zh-CN": "或在下方输入号码"},
    "scan.no_camera": {"en": "No camera: use the hand scanner or type the code",
                       "zh-CN": "无摄像头：请使用扫码枪或输入号码"},
    "scan.manual_hint": {"en": "Type the code (PP1...)", "zh-CN": "输入号码 (PP1...)"},
    "scan.check": {"en": "Check", "zh-CN": "核验"},
    "scan.open_image": {"en": "Open image", "zh-CN": "打开图片"},
    "scan.menu": {"en": "Staff", "zh-CN": "工作人员"},
    "scan.perk_any": {"en": "All perks of this venue", "zh-CN": "本处全部优惠"},
    "scan.no_code_in_image": {"en": "No QR code found in that image", "zh-CN": "图片中未找到二维码"},
    # enrolment
    "enrol.title": {"en": "Set up this kiosk", "zh-CN": "设置本机"},
    "enrol.url": {"en": "Backend address", "zh-CN": "服务器地址"},
    "enrol.code": {"en": "Enrolment code", "zh-CN": "注册码"},
    "enrol.device": {"en": "Kiosk name", "zh-CN": "设备名称"},
    "enrol.pin": {"en": "New staff PIN", "zh-CN": "设置员工密码"},
    "enrol.pin_hint": {"en": "4 to 12 digits", "zh-CN": "4-12 位数字"},
    "enrol.pin2": {"en": "Repeat the PIN", "zh-CN": "再次输入密码"},
    "enrol.submit": {"en": "Enrol", "zh-CN": "注册"},
    "enrol.file": {"en": "Use an enrolment file", "zh-CN": "使用注册文件"},
    "enrol.working": {"en": "Contacting the backend...", "zh-CN": "正在连接服务器..."},
    "enrol.err.pin": {"en": "The PIN must be 4 to 12 digits, typed twice the same.",
                      "zh-CN": "密码须为 4-12 位数字，且两次输入一致。"},
    "enrol.err.fields": {"en": "Fill in the backend address and the enrolment code.",
                         "zh-CN": "请填写服务器地址和注册码。"},
    "enrol.err.network": {"en": "Cannot reach the backend: {detail}", "zh-CN": "无法连接服务器：{detail}"},
    "enrol.err.refused": {"en": "Enrolment refused: {detail}", "zh-CN": "注册被拒绝：{detail}"},
    "enrol.err.file": {"en": "That is not a valid enrolment file: {detail}", "zh-CN": "注册文件无效：{detail}"},
    "enrol.done": {"en": "Kiosk enrolled for {venue}", "zh-CN": "已注册：{venue}"},
    # PIN
    "pin.title.settings": {"en": "Staff PIN", "zh-CN": "员工密码"},
    "pin.title.exit": {"en": "Staff PIN to leave the kiosk", "zh-CN": "输入员工密码以退出"},
    "pin.wrong": {"en": "Wrong PIN", "zh-CN": "密码错误"},
    "pin.locked": {"en": "Too many wrong PINs: wait {n} s", "zh-CN": "错误次数过多：请等待 {n} 秒"},
    "pin.ok": {"en": "OK", "zh-CN": "确定"},
    "pin.clear": {"en": "Clear", "zh-CN": "清除"},
    "common.back": {"en": "Back", "zh-CN": "返回"},
    "common.cancel": {"en": "Cancel", "zh-CN": "取消"},
    "common.open": {"en": "Open", "zh-CN": "打开"},
    # settings
    "settings.title": {"en": "Kiosk settings", "zh-CN": "设备设置"},
    "settings.language": {"en": "Language", "zh-CN": "语言"},
    "settings.perk": {"en": "Perk at this desk", "zh-CN": "本柜台的优惠"},
    "settings.sound": {"en": "Sound", "zh-CN": "声音"},
    "settings.on": {"en": "On", "zh-CN": "开"},
    "settings.off": {"en": "Off", "zh-CN": "关"},
    "settings.sync_now": {"en": "Sync now", "zh-CN": "立即同步"},
    "settings.trust_file": {"en": "Load trust list file", "zh-CN": "载入信任列表文件"},
    "settings.stats": {"en": "Today's statistics", "zh-CN": "今日统计"},
    "settings.change_pin": {"en": "Change PIN", "zh-CN": "修改密码"},
    "settings.exit": {"en": "Leave the kiosk", "zh-CN": "退出程序"},
    "settings.venue": {"en": "Venue", "zh-CN": "场所"},
    "settings.device": {"en": "Kiosk", "zh-CN": "设备"},
    "settings.backend": {"en": "Backend", "zh-CN": "服务器"},
    "settings.camera": {"en": "Camera", "zh-CN": "摄像头"},
    "settings.trust": {"en": "Trust list", "zh-CN": "信任列表"},
    "settings.pin_changed": {"en": "PIN changed", "zh-CN": "密码已修改"},
    "settings.trust_loaded": {"en": "Trust list loaded (sequence {seq})", "zh-CN": "信任列表已载入 (序号 {seq})"},
    "settings.trust_error": {"en": "Trust list not loaded: {detail}", "zh-CN": "信任列表未载入：{detail}"},
    "settings.sync_started": {"en": "Sync started", "zh-CN": "已开始同步"},
    # statistics
    "stats.title": {"en": "Today", "zh-CN": "今日"},
    "stats.grants": {"en": "Perks granted", "zh-CN": "已提供优惠"},
    "stats.refusals": {"en": "Not granted", "zh-CN": "未通过"},
    "stats.none": {"en": "None yet", "zh-CN": "暂无"},
    "stats.total": {"en": "Total", "zh-CN": "合计"},
    # time units
    "age.s": {"en": "{n} s", "zh-CN": "{n} 秒"},
    "age.m": {"en": "{n} min", "zh-CN": "{n} 分钟"},
    "age.h": {"en": "{n} h", "zh-CN": "{n} 小时"},
    "age.d": {"en": "{n} days", "zh-CN": "{n} 天"},
}


# The decision texts from the one catalogue: "reason.<STATUS>" (with the kiosk's own wording where its staff
# must act differently) and "status.short.<STATUS>".
for _status, _entry in CATALOGUE.items():
    _reason = _entry.for_kiosk()
    TEXTS["reason." + _status.value] = {"en": _reason.en, "zh-CN": _reason.zh}
    TEXTS["status.short." + _status.value] = {"en": _entry.short.en, "zh-CN": _entry.short.zh}


def tr(key: str, lang: str = "en", **kwargs) -> str:
    entry = TEXTS.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    if kwargs:
        try:
            text = text.format(**kwargs)
        except (KeyError, IndexError, ValueError):
            pass
    return text


def reason_text(status: str, lang: str, **kwargs) -> str:
    return tr("reason." + status if "reason." + status in TEXTS else "reason.ERROR", lang, **kwargs)


# EnrolmentError.kind -> the text staff read on the enrolment screen
_ENROLMENT_ERRORS = {"network": "enrol.err.network", "refused": "enrol.err.refused", "file": "enrol.err.file",
                     "pin": "enrol.err.pin", "fields": "enrol.err.fields", "pending": "enrol.err.refused"}


def enrolment_error_text(kind: str, detail: str, lang: str) -> str:
    return tr(_ENROLMENT_ERRORS.get(kind, "enrol.err.file"), lang, detail=detail)


def result_kind(status: str) -> str:
    return RESULT_KIND.get(status, "refused")  # a status this kiosk does not know never reads as granted


def human_age(seconds: float, lang: str) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return tr("age.s", lang, n=seconds)
    if seconds < 2 * 3600:
        return tr("age.m", lang, n=seconds // 60)
    if seconds < 2 * 86400:
        return tr("age.h", lang, n=seconds // 3600)
    return tr("age.d", lang, n=seconds // 86400)


def perk_title(catalogue: dict, code: str, lang: str) -> str:
    """A perk's title from the trust list / venue catalogue, in the kiosk language, else its code."""
    entry = catalogue.get(code) if catalogue else None
    if isinstance(entry, dict):
        title = entry.get("title", entry)
        if isinstance(title, dict):
            return str(title.get(lang) or title.get("en") or next(iter(title.values()), code))
        if isinstance(title, str):
            return title
    return code


# -- fonts --------------------------------------------------------------------------------------
_REPO_FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"
_PACKAGE_FONTS = Path(__file__).resolve().parent / "fonts"

# Files that SDL_ttf opens at face index 0 and whose face 0 has Simplified Chinese glyphs.
CANDIDATE_FONTS = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # face 0 is JP: Han glyphs still fine
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/system/fonts/NotoSansCJK-Regular.ttc",                  # Android
    "/system/fonts/NotoSansSC-Regular.otf",
    "/system/fonts/DroidSansFallback.ttf",
    "/System/Library/Fonts/PingFang.ttc",                      # macOS
    "C:/Windows/Fonts/msyh.ttc",                               # Windows
]


def find_cjk_font(extra_dirs: list[str] | None = None, *, chosen: str | None = None) -> str | None:
    """Path of a font with CJK glyphs, or None. ``chosen`` (PERKPASS_KIOSK_FONT, kiosk.settings) comes first."""
    if chosen and os.path.isfile(chosen):
        return chosen
    dirs = [str(d) for d in (extra_dirs or [])] + [str(_PACKAGE_FONTS), str(_REPO_FONTS)]
    for d in dirs:
        for pattern in ("*.otf", "*.ttf", "*.ttc"):
            found = sorted(glob.glob(os.path.join(d, pattern)))
            if found:
                return found[0]
    for path in CANDIDATE_FONTS:
        if os.path.isfile(path):
            return path
    try:  # fontconfig, when present
        import subprocess
        out = subprocess.run(["fc-match", "-f", "%{file}", "sans:lang=zh-cn"], capture_output=True,
                             text=True, timeout=3)
        path = out.stdout.strip()
        if out.returncode == 0 and path and os.path.isfile(path) and "DejaVu" not in path:
            return path
    except (OSError, subprocess.SubprocessError):
        pass
    return None
