"""Database models. Times are stored as integer seconds since the epoch (UTC), like the SDK uses."""
from .citizen import AccessToken, Citizen, Consent, LoginCode
from .scores import CitizenScheme, Scheme, ScoreEvent
from .keys import IssuerSecret, SigningKey, TrustListVersion
from .partners import Device, EnrolmentCode, OperatorToken, Partner, Venue
from .redemptions import Redemption, RedemptionRejection
from .ledger import AuditEntry, CatalogueChange, CatalogueEntry, DataProvider, LedgerCase, Reviewer
from .holder import CertificateRevocation, DeviceChallenge, HolderDevice, PerkCertificate, Pp3Issuance
from .console import ConsoleAccount, ConsoleSession, IssuedDaily, KioskReport, KioskScanCount

__all__ = [
    "AccessToken",
    "Citizen",
    "Consent",
    "LoginCode",
    "CitizenScheme",
    "Scheme",
    "ScoreEvent",
    "IssuerSecret",
    "SigningKey",
    "TrustListVersion",
    "Device",
    "EnrolmentCode",
    "OperatorToken",
    "Partner",
    "Venue",
    "Redemption",
    "RedemptionRejection",
    "AuditEntry",
    "CatalogueChange",
    "CatalogueEntry",
    "DataProvider",
    "LedgerCase",
    "Reviewer",
    "CertificateRevocation",
    "DeviceChallenge",
    "HolderDevice",
    "PerkCertificate",
    "Pp3Issuance",
    "ConsoleAccount",
    "ConsoleSession",
    "IssuedDaily",
    "KioskReport",
    "KioskScanCount",
]
