"""The ledger's words: what an event is, where it stands, what a case is and how it ends.

Each is a :class:`enum.StrEnum` whose values are the strings stored in the database and sent in JSON
(a member compares, hashes and serialises as its value), so nothing outside changes.
"""
from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What a score event is."""

    JOIN = "join"      # the scheme's base score at enrolment (0 points)
    IMPORT = "import"  # an operator's absolute import, recorded as the change it made
    POINT = "point"    # a data provider's event under a point rule


class EventStatus(StrEnum):
    """Where a score event stands (``ScoreEvent.status``)."""

    PENDING_REVIEW = "pending_review"  # a negative event waiting for a reviewer: does not count
    CONFIRMED = "confirmed"            # counts
    DISPUTED = "disputed"              # under review: counts exactly when it counted before the dispute
    REVERSED = "reversed"              # a reviewer upheld a dispute
    REJECTED = "rejected"              # a reviewer refused a pending event
    WITHDRAWN = "withdrawn"            # the provider withdrew its own event


STATUSES = tuple(EventStatus)
FINAL = (EventStatus.REVERSED, EventStatus.REJECTED, EventStatus.WITHDRAWN)  # never count again


class CaseReason(StrEnum):
    """Why a review case exists (``LedgerCase.reason``)."""

    PENDING_REVIEW = "pending_review"  # a negative event waiting for confirmation
    DISPUTE = "dispute"                # the citizen contests a record
    WITHDRAWAL = "withdrawal"          # the provider withdrew the event (decided at once)


class CaseStatus(StrEnum):
    """``LedgerCase.status``."""

    OPEN = "open"
    DECIDED = "decided"


class Decision(StrEnum):
    """How a case ended (``LedgerCase.decision``)."""

    CONFIRM = "confirm"    # a reviewer: the event counts
    REVERSE = "reverse"    # a reviewer: it does not, for good
    WITHDRAW = "withdraw"  # the provider withdrew it


REVIEWER_DECISIONS = (Decision.CONFIRM, Decision.REVERSE)


class ReviewPolicy(StrEnum):
    """A scheme's ``review`` policy in its point-rules file: which events wait for a reviewer."""

    NONE = "none"
    NEGATIVE = "negative"
    ALL = "all"


REVIEW_POLICIES = tuple(ReviewPolicy)


class IngestOutcome(StrEnum):
    """What happened to one event of a provider's batch."""

    ACCEPTED = "accepted"          # recorded
    DUPLICATE = "duplicate"        # same id, same content: nothing changes
    NOT_ENROLLED = "not_enrolled"  # nobody with that phone or id is a member of the scheme: nothing stored
    CONFLICT = "conflict"          # same id, other content: nothing changes
