"""The SDK's top level is a verifier's surface (issue 20): an integrator who types ``from partner_sdk import``
sees what a gate needs, and nothing that signs. Issuing stays importable from its own modules, where the
backend, the tools and the test helpers take it."""

import importlib
import inspect
import subprocess
import sys

import partner_sdk

# what a gate needs: load and pin the root, hold the trust list, verify, remember grants, catch configuration
# mistakes; nothing more (a name added here is a promise to every integrator)
VERIFIER_SURFACE = {
    "TrustStore", "TrustList", "TrustedKey", "Freshness", "FreshnessState",
    "Verifier", "Decision", "Status",
    "MemoryReplayCache", "SQLiteReplayCache", "ReplayCache",
    "load_public_key", "pinned_root", "root_thumbprint",
    "PerkpassError", "ConfigurationError", "InvalidClockError", "InvalidKeyError", "TrustListError",
    "TrustListSignatureError", "TrustListRollbackError", "TrustListExpiredError", "TrustListTooLargeError",
    "TrustListUnavailableError",
}

# the issuer's tools and where they live
ISSUING = {
    "issue": ["issue_credential", "IssuedCredential"],
    "keys": ["generate_key", "private_key_to_pem", "private_key_from_pem", "public_jwk", "jwk_thumbprint"],
    "trust": ["build_trust_list", "build_root_statement"],
    "format": ["pairwise_pseudonym", "DEFAULT_LIFETIME", "MAX_LIFETIME"],
    "errors": ["IssuanceError"],
}


def _public_names() -> set[str]:
    """Every public name the package itself binds, submodules aside (``import partner_sdk.issue`` elsewhere
    sets ``partner_sdk.issue``; that is a module to import, not an export)."""
    return {n for n, v in vars(partner_sdk).items() if not n.startswith("_") and not inspect.ismodule(v)}


def test_the_top_level_is_the_verifier_surface():
    assert set(partner_sdk.__all__) == VERIFIER_SURFACE
    assert _public_names() == VERIFIER_SURFACE


def test_no_issuing_helper_at_the_top_level():
    issuing_objects = {id(getattr(importlib.import_module(f"partner_sdk.{m}"), n))
                       for m, names in ISSUING.items() for n in names}
    exported = {n for n in _public_names() if id(getattr(partner_sdk, n)) in issuing_objects}
    assert not exported
    for names in ISSUING.values():
        for n in names:
            assert not hasattr(partner_sdk, n), n


def test_issuing_is_importable_from_its_modules():
    for module, names in ISSUING.items():
        m = importlib.import_module(f"partner_sdk.{module}")
        for n in names:
            assert getattr(m, n) is not None, f"partner_sdk.{module}.{n}"


def test_a_fresh_interpreter_cannot_import_an_issuing_helper_from_the_top_level():
    """The same in a new process, where no other test has imported the issuing modules first."""
    code = ("import partner_sdk\n"
            "try:\n    from partner_sdk import issue_credential\nexcept ImportError:\n    print('refused')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "refused"
