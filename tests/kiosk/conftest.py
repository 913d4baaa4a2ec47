"""Kiosk tests. The Kivy ones run the real app in a subprocess (SDL offscreen over Mesa EGL);
see kiosk_harness.py. The apt packages they need are listed in .ci/apt-packages-kiosk.txt."""
from __future__ import annotations

import time

import pytest

from partner_sdk.testing import TestIssuer


@pytest.fixture(scope="session")
def issuer() -> TestIssuer:
    return TestIssuer(issuer="perkpass.xiamen", seed=b"kiosk-tests")


@pytest.fixture(scope="session")
def other_issuer() -> TestIssuer:
    return TestIssuer(issuer="perkpass.elsewhere", seed=b"someone-else", kid="elsewhere-key-1")


@pytest.fixture
def now() -> float:
    return time.time()
