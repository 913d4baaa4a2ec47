"""One text catalogue (issue 12 item 5): the SDK, the kiosk and the citizen answers say the same thing about
one status, in both languages, and no text mentions a score."""
from partner_sdk import Decision, Status
from partner_sdk.messages import CATALOGUE, citizen_text, staff_text
from partner_sdk.verify import MESSAGES


def test_every_status_has_staff_and_short_texts_in_both_languages():
    assert set(CATALOGUE) == set(Status)
    for status, entry in CATALOGUE.items():
        for text in (entry.staff, entry.short, entry.kiosk, entry.citizen):
            if text is not None:
                assert text.en.strip() and text.zh.strip() and text.en != text.zh, status
                assert "score" not in text.en.lower() and "band" not in text.en.lower()


def test_decision_message_is_the_catalogue_staff_text():
    for status in Status:
        d = Decision(status)
        assert (d.message, d.message_zh) == MESSAGES[status] == (staff_text(status), staff_text(status, "zh-CN"))
        assert d.to_dict()["message_zh"] == CATALOGUE[status].staff.zh


def test_kiosk_reads_the_same_catalogue():
    from kiosk import i18n
    for status, entry in CATALOGUE.items():
        assert i18n.reason_text(status.value, "en") == entry.for_kiosk().en
        assert i18n.reason_text(status.value, "zh-CN") == entry.for_kiosk().zh
        assert i18n.tr("status.short." + status.value, "zh-CN") == entry.short.zh
        if entry.kiosk is None:  # the kiosk differs only where its own entry says so
            assert i18n.reason_text(status.value, "en") == Decision(status).message


def test_citizen_text_for_no_perk():
    assert citizen_text(Status.NOT_ENTITLED).startswith("You have no perk at this type of venue")
    assert "权益" in citizen_text(Status.NOT_ENTITLED, "zh")
    assert citizen_text(Status.BAD_SIGNATURE) is None
