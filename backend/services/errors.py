"""Domain errors: what a service answers when a request cannot be met, in the service's own terms.

Services raise these; they do not know about HTTP. The HTTP status of each kind is decided once, in
:mod:`backend.http.errors` (``DOMAIN_STATUS``); the command line (``backend/cli/common.py``) turns the same
errors into ``Error: [code] message``.

Each error carries a stable machine-readable ``code`` (the class's default, or a more specific one given
when raising, like ``already_decided``), a ``message`` for people and optional ``details``: field name ->
list of messages (the ``fields`` of the JSON error body).

    DomainError
    ├── InvalidInput    the input is malformed or fails validation              (validation_error)
    ├── Refused         understood, but a rule refuses it                       (unprocessable)
    │   └── ForbiddenData   it carries a category of data never ingested        (forbidden_data)
    ├── NotFound        no such thing (or not yours: the same answer)           (not_found)
    ├── Conflict        it contradicts the current state                        (conflict)
    ├── Unauthenticated who is asking was not proved (wrong credentials)         (unauthorized)
    ├── Forbidden       this actor may not do it (revoked, not allowed)         (forbidden)
    ├── TryLater        not now; ``retry_after`` seconds                         (rate_limited)
    │   └── Locked      locked after failed attempts until an operator or time   (locked)
    └── Unavailable     a dependency is down or misconfigured (not the caller's)  (unavailable)

This module imports nothing of the backend: a service, a view, the command line and a test can all use it.
"""
from __future__ import annotations


class DomainError(Exception):
    """A request a service cannot meet. ``code`` is stable (clients and tests key on it)."""

    code = "domain_error"

    def __init__(self, message: str, details: dict | None = None, *, code: str | None = None):
        Exception.__init__(self, message)
        if code is not None:
            self.code = code
        self.message = message
        self.details: dict = details or {}
        self.fields = self.details  # the name the JSON error body uses

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidInput(DomainError):
    """The input is malformed or fails validation (a bad code, a short reason, an unknown option)."""

    code = "validation_error"


class Refused(DomainError):
    """Well-formed, but a rule refuses it (an invalid event of a batch, a closed dispute window)."""

    code = "unprocessable"


class ForbiddenData(Refused):
    """The input names a category of personal data that is never ingested; ``details`` says where."""

    code = "forbidden_data"


class NotFound(DomainError):
    """No such thing, or not the caller's: both look the same."""

    code = "not_found"


class Conflict(DomainError):
    """It contradicts the current state (exists already, decided already, no longer counts)."""

    code = "conflict"


class Unauthenticated(DomainError):
    """Who is asking was not proved (a wrong password or code)."""

    code = "unauthorized"


class Forbidden(DomainError):
    """This actor may not do it (a revoked token, a scheme it is not allowed)."""

    code = "forbidden"


class TryLater(DomainError):
    """Not now (too many requests); ``retry_after`` is the number of seconds to wait."""

    code = "rate_limited"

    def __init__(self, message: str, details: dict | None = None, *, code: str | None = None, retry_after: int = 1):
        super().__init__(message, details, code=code)
        self.retry_after = int(retry_after)


class Unavailable(DomainError):
    """A dependency this request needs is down or misconfigured (the SMS gateway, the database, the rate-limit
    store, no signing key): not the caller's fault; retry after ``retry_after`` seconds, or ``None`` when waiting
    will not help until an operator acts (no Retry-After is sent then)."""

    code = "unavailable"

    def __init__(self, message: str, details: dict | None = None, *, code: str | None = None,
                 retry_after: int | None = 30):
        super().__init__(message, details, code=code)
        self.retry_after = None if retry_after is None else int(retry_after)


class Locked(TryLater):
    """Locked after failed attempts (it lifts after ``retry_after`` seconds, or an operator unlocks it)."""

    code = "locked"
