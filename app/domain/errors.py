"""Domain errors. The API maps each class to one problem type in one table (api/errors.py)."""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    """The data breaks a rule of the domain (bad PESEL, unknown code, ...)."""

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.errors = tuple(errors)


class NotFound(DomainError):
    """The record does not exist, or the caller may not know that it exists."""


class PermissionDenied(DomainError):
    """The caller may see the record but may not do this to it."""


class Conflict(DomainError):
    """The request clashes with the record's current state."""


class StaleVersion(DomainError):
    """The caller changed a record on the basis of an older version of it."""

    def __init__(self, detail: str, current_version: int) -> None:
        super().__init__(detail)
        self.current_version = current_version


class DuplicateRecord(Conflict):
    """A unique identity (a PESEL, an open enrollment) is already held: a concurrent writer won."""


class ActionNotAllowed(Conflict):
    """An action (of a referral, a step of a contract) not allowed in the record's current state."""

    def __init__(self, detail: str, allowed: Sequence[str]) -> None:
        super().__init__(detail)
        self.allowed = tuple(str(a) for a in allowed)


class SharingRefused(PermissionDenied):
    """No agreement or consent lets the data go where it was asked to go."""


class RateLimited(DomainError):
    """Too many requests of one client in the current window."""

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
