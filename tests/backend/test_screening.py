"""The one forbidden-data screen (backend/services/screening.py): disguises do not help, ordinary civic text
passes. Every entry path uses it; those paths are tested in test_ledger.py, test_scores.py, test_ledger_cli.py."""
import json

import pytest

from backend.config import REPO_ROOT
from backend.demo.ledger import EVENTS
from backend.services.screening import find_forbidden, fold, load_categories

CATEGORIES = load_categories(json.loads((REPO_ROOT / "assets" / "point-rules" / "forbidden.json").read_text()))


@pytest.mark.parametrize("text,category", [
    ("Blood.type AB+", "blood-type"),
    ("R\u0435ligion: Buddhist", "religious-belief"),          # Cyrillic е
    ("\uff24\uff2e\uff21 test", "genetics"),                   # full-width
    ("finger\u200bprint", "fingerprints"),                    # zero-width space
    ("fin\u00adger\u2060print", "fingerprints"),              # soft hyphen, word joiner
    ("f i n g e r p r i n t", "fingerprints"),
    ("finger print", "fingerprints"),
    ("D.N.A. sample", "genetics"),
    ("rélígíon", "religious-belief"),                         # accents
    ("\U0001d42b\U0001d41e\U0001d425\U0001d422\U0001d420\U0001d422\U0001d428\U0001d427", "religious-belief"),  # bold maths letters
    ("ΒLΟΟD TYPE", "blood-type"),                             # Greek capitals
    ("ABO-GROUP-AB-RH-NEG", "blood-type"),
    ("O-", "blood-type"),
    ("religious_belief", "religious-belief"),
    ("Attends Sunday mass at St Joseph's church", "religious-belief"),
    ("worships at the mosque", "religious-belief"),
    ("medical record: diabetes", "medical-history"),
    ("Diabetes and high blood pressure", "medical-history"),
    ("HIV positive", "medical-history"),
    ("病史：高血压", "medical-history"),
    ("每周日去教堂做礼拜", "religious-belief"),
    ("熊猫血", "blood-type"),
    ("基因检测", "genetics"),
])
def test_disguises_are_seen_through(text, category):
    found = find_forbidden(text, CATEGORIES)
    assert found is not None and found.code == category, (text, found)


def test_ordinary_civic_text_passes():
    rules = [json.loads(p.read_text()) for p in (REPO_ROOT / "assets" / "point-rules").glob("*.json")
             if p.name not in ("forbidden.json", "categories.json", "reason-codes.json", "withdrawal-reasons.json",
                               "source-systems.json")]
    cats = json.loads((REPO_ROOT / "assets" / "point-rules" / "categories.json").read_text())["categories"]
    texts = [t for r in rules for rule in r["rules"] for t in (rule["code"], *rule["title"].values())]
    texts += [t for c in cats for t in (c["code"], *c["label"].values())]
    texts += [t for e in EVENTS for t in (e[1], e[4]) if t]
    texts += ["General public order offence", "Generous donation to the flood relief fund", "Rhythm class volunteer",
              "Monkey park cleaning", "Land navigation course", "Public disorder", "Grade A- tax payer",
              "He aids the elderly", "礼拜天在社区做志愿者", "Ticket unpaid after 30 days", "operator-api", "csv:scores.csv"]
    assert [t for t in texts if find_forbidden(t, CATEGORIES)] == []


def test_fold_shows_what_the_screen_reads():
    assert fold("R\u0435lig\u200bion ＡＢ") == "religion ab"
