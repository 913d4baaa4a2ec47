"""Database models. Times are stored as integer seconds since the epoch (UTC), like the SDK uses."""
from .citizen import AccessToken, Citizen, Consent, LoginCode  # noqa: F401
from .scores import CitizenScheme, Scheme, ScoreEvent  # noqa: F401
from .keys import IssuerSecret, SigningKey, TrustListVersion  # noqa: F401
from .partners import Device, EnrolmentCode, OperatorToken, Partner, Venue  # noqa: F401
from .redemptions import Redemption, RedemptionRejection  # noqa: F401
from .ledger import AuditEntry, DataProvider, LedgerCase, Reviewer  # noqa: F401
from .holder import CertificateRevocation, DeviceChallenge, HolderDevice, PerkCertificate  # noqa: F401
from .console import ConsoleAccount, ConsoleSession, IssuedDaily, KioskReport, KioskScanCount  # noqa: F401
