import pytest

from partner_sdk.testing import TestIssuer

T0 = 1_795_000_000


@pytest.fixture
def issuer() -> TestIssuer:
    return TestIssuer(issuer="perkpass.fuzhou", key_window=(T0 - 86_400, T0 + 30 * 86_400))


@pytest.fixture
def store(issuer):
    return issuer.trust_store(now=T0 - 60)
