"""The citizen's 'no perk here' answer is the catalogue's text (partner_sdk.messages), not a second wording."""
from partner_sdk import Status
from partner_sdk.messages import citizen_text

from backend.api import credentials


def test_no_perk_answer_is_the_catalogue_citizen_text():
    assert citizen_text(Status.NOT_ENTITLED, "en") == credentials.NO_PERK_EN
    assert citizen_text(Status.NOT_ENTITLED, "zh-CN") == credentials.NO_PERK_ZH
