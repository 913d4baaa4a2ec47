"""References are identifiers (issue 19 item 3): a provider's registered format admits its fixed prefix and
digits only (anchored, ASCII, bounded), the ledger keeps a keyed digest of it, and production without the key
refuses rather than storing something weaker."""
from __future__ import annotations

import pytest

from backend.services.errors import InvalidInput
from backend.services import ledger


@pytest.mark.parametrize("template", ["FZ-TP-####-######", "A/####", "####", "RC-####-#####"])
def test_good_formats(template):
    assert ledger.check_reference_format(template) == template


@pytest.mark.parametrize("template", ["", "FZ", "FZ-###", "fz-####", "FZ-\\d{6}", "FZ-[0-9]+", "FZ ####",
                                      "ABCDEFGHIJKLM-####", "#" * 41, "ＦＺ-####", None, 12345])
def test_formats_that_are_not_identifiers_are_refused(template):
    with pytest.raises(InvalidInput):
        ledger.check_reference_format(template)


def test_a_reference_carries_nothing_but_digits_beyond_the_prefix():
    fmt = "FZ-TP-####-######"
    assert ledger.reference_matches(fmt, "FZ-TP-2026-118204")
    for bad in ("FZ-TP-2026-11820", "FZ-TP-2026-1182045", "FZ-TP-2026-11820A", "fz-tp-2026-118204",
                "FZ-TP-２０２６-118204", "FZ-TP-2026-118204\n", " FZ-TP-2026-118204", "XFZ-TP-2026-118204", None):
        assert not ledger.reference_matches(fmt, bad), bad


def test_the_digest_is_keyed_and_per_provider(app):
    key = ledger.reference_key()
    d = ledger.reference_digest(key, "fuzhou-traffic-police", "FZ-TP-2026-118204")
    assert len(d) == 64 and "118204" not in d
    assert d == ledger.reference_digest(key, "fuzhou-traffic-police", "FZ-TP-2026-118204")
    assert d != ledger.reference_digest(key, "suzhou-traffic-police", "FZ-TP-2026-118204")
    assert d != ledger.reference_digest(b"another key", "fuzhou-traffic-police", "FZ-TP-2026-118204")


def test_production_without_the_key_refuses():
    """Fail closed, at start: production settings without a reference key (or with a weak one) are refused;
    with a strong one, references are digested under it."""
    from backend.config import ConfigError, ProductionConfig
    from backend.settings import from_config
    config = {k: getattr(ProductionConfig, k) for k in dir(ProductionConfig) if k.isupper()}
    config.update(SECRET_KEY="kX9vQ2mT7rL4pW8zN3bH6cJ1dF5gS0aY-uE_iOq", PERKPASS_KEY_PASSPHRASE="Zt4-wq8Rb2Lm6Nc0Yh3Jd7Ks1Fv5Gx9Pe_Ua",
                  PERKPASS_SMS_SENDER="outbox", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
    with pytest.raises(ConfigError, match="needs PERKPASS_REFERENCE_KEY"):
        from_config(config)
    with pytest.raises(ConfigError, match="it repeats too few different characters"):
        from_config(dict(config, PERKPASS_REFERENCE_KEY="k" * 40))
    strong = "Nb3-Hx2Lq8Ve5Wt1Kd9Rz3Tc6Ng0Gy5Jb_Ev"
    assert from_config(dict(config, PERKPASS_REFERENCE_KEY=strong)).reference_key == strong.encode()


