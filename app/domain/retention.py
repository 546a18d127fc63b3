"""Retention: how long each record class is kept, per institution, after the event that starts its clock.

Each institution's file plan (JRWA) sets its own periods; Spójnia applies a default where an
institution set none. A record class names what goes and when its clock starts:

- `referral_copy`: what a referral showed its receiver (the subjects' identity, the justification,
  the notes), counted from the day the referral closed; the receiver's period applies. The sender
  keeps its record: the same referral, seen by its sender, is untouched.
- `ended_enrollment`: an enrollment, counted from its `until`; the enrolling institution's period.
- `consent`, `agreement`: one that has ended (withdrawn or past its validity; ended by a party or
  past its validity) is kept as proof that access under it was lawful, then deleted. A consent's
  period is its grantee's (or, for a kind of institution, the recording institution's); an
  agreement's the longest among its parties'.
- `person`: a person nothing is held about any more (no enrollment left, ended or not; no current
  family membership; no open referral; no consent kept; no Niebieska Karta record) is anonymised
  once their last family membership ended and last referral closed longer ago than the longest
  period among the institutions still linked to them (families they were in, referrals about them).
  The longest, not the shortest: no institution loses the identity behind a record it still keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from app.domain.clock import local_date
from app.domain.ids import AgreementId, ConsentId, EnrollmentId, InstitutionId, PersonId, ReferralId

ACTOR = "system:retention"
PURPOSE = "RETENTION"

# Audit records need an institution; a person's anonymisation under the operator's default, with no
# institution linked any more, is recorded under this one (no institution has this id).
DEFAULT_RULE_OWNER = InstitutionId(UUID(int=0))


class RecordClass(StrEnum):
    REFERRAL_COPY = "referral_copy"
    ENDED_ENROLLMENT = "ended_enrollment"
    CONSENT = "consent"
    AGREEMENT = "agreement"
    PERSON = "person"  # last: what the other classes let go of may leave a person with nothing held


DEFAULT_DAYS: Mapping[RecordClass, int] = {
    RecordClass.REFERRAL_COPY: 365,
    RecordClass.ENDED_ENROLLMENT: 1825,
    RecordClass.CONSENT: 1825,
    RecordClass.AGREEMENT: 1825,
    RecordClass.PERSON: 365,
}

_CLOCK_STARTS = {
    RecordClass.REFERRAL_COPY: "after the referral closed",
    RecordClass.ENDED_ENROLLMENT: "after the enrollment ended",
    RecordClass.CONSENT: "after the consent ended",
    RecordClass.AGREEMENT: "after the agreement ended",
    RecordClass.PERSON: "after the person's last link with an institution ended",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """The period that applies to one record of a class, and whose it is."""

    record_class: RecordClass
    days: int
    owner: InstitutionId
    own: bool  # the owner's own setting, not the default

    def cutoff(self, now: datetime) -> datetime:
        """Records whose clock started before this moment are due."""
        return now - timedelta(days=self.days)

    def cutoff_day(self, now: datetime) -> date:
        """Records whose clock started on a day before this one are due."""
        return local_date(now) - timedelta(days=self.days)

    def describe(self) -> str:
        whose = "the institution's file plan" if self.own else "the default"
        return f"{self.record_class.value}: {self.days} days {_CLOCK_STARTS[self.record_class]} ({whose})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Which institutions' records one pass of the purge looks at: one institution, or all but some."""

    institution_id: InstitutionId | None
    excluding: frozenset[InstitutionId] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPolicy:
    defaults: Mapping[RecordClass, int] = field(default_factory=lambda: dict(DEFAULT_DAYS))
    overrides: Mapping[InstitutionId, Mapping[RecordClass, int]] = field(default_factory=dict)
    batch_size: int = 200

    def rule(self, record_class: RecordClass, institution_id: InstitutionId) -> Rule:
        own = self.overrides.get(institution_id, {}).get(record_class)
        return Rule(
            record_class=record_class,
            days=own if own is not None else self.defaults.get(record_class, DEFAULT_DAYS[record_class]),
            owner=institution_id,
            own=own is not None,
        )

    def passes(self, record_class: RecordClass) -> list[tuple[Scope, int]]:
        """One pass per institution with its own period, then one for everybody else under the default."""
        own = {i: days[record_class] for i, days in self.overrides.items() if record_class in days}
        passes = [(Scope(institution_id=i), d) for i, d in sorted(own.items(), key=lambda item: str(item[0]))]
        default = self.defaults.get(record_class, DEFAULT_DAYS[record_class])
        passes.append((Scope(institution_id=None, excluding=frozenset(own)), default))
        return passes

    def longest(self, record_class: RecordClass, institutions: Iterable[InstitutionId]) -> Rule:
        """The longest period among these institutions' (the default's when there are none)."""
        rules = [self.rule(record_class, i) for i in sorted(set(institutions), key=str)]
        if not rules:
            return Rule(
                record_class=record_class,
                days=self.defaults.get(record_class, DEFAULT_DAYS[record_class]),
                owner=DEFAULT_RULE_OWNER,
                own=False,
            )
        return max(rules, key=lambda r: (r.days, r.own))

    def shortest(self, record_class: RecordClass) -> int:
        return min(days for _, days in self.passes(record_class))


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedReferral:
    referral_id: ReferralId
    receiver_id: InstitutionId


@dataclass(frozen=True, slots=True, kw_only=True)
class EndedEnrollment:
    enrollment_id: EnrollmentId
    person_id: PersonId
    institution_id: InstitutionId
    institution_type: str
    until: date


@dataclass(frozen=True, slots=True, kw_only=True)
class EndedConsent:
    consent_id: ConsentId
    owner: InstitutionId  # the grantee, or the recording institution for a kind of grantee


@dataclass(frozen=True, slots=True, kw_only=True)
class EndedAgreement:
    agreement_id: AgreementId
    ended_at: datetime | None
    valid_to: date | None
    parties: frozenset[InstitutionId]

    def due(self, rule: Rule, now: datetime) -> bool:
        return (self.ended_at is not None and self.ended_at < rule.cutoff(now)) or (
            self.valid_to is not None and self.valid_to < rule.cutoff_day(now)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IdlePerson:
    """A person nothing holds any more, with the traces of their last links."""

    person_id: PersonId
    updated_at: datetime
    last_membership_end: date | None
    last_referral_change: datetime | None
    linked: frozenset[InstitutionId]  # creators of their families, parties to referrals about them

    def due(self, rule: Rule, now: datetime) -> bool:
        cutoff = rule.cutoff(now)
        return (
            self.updated_at < cutoff
            and (self.last_referral_change is None or self.last_referral_change < cutoff)
            and (self.last_membership_end is None or self.last_membership_end < rule.cutoff_day(now))
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PurgeReport:
    """What one run purged (or, dry, would purge): counts per record class, never who."""

    dry_run: bool
    counts: Mapping[RecordClass, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class RetentionQueries(Protocol):
    """Finds what has passed its time and removes it; each finder pages by id after `after`."""

    async def closed_referrals(
        self, scope: Scope, closed_before: datetime, after: UUID | None, limit: int
    ) -> list[ClosedReferral]:
        """Closed referrals whose receiver's copy is still there, closed before the moment, by id."""

    async def purge_receiver_copy(self, referral_id: ReferralId, at: datetime) -> bool:
        """Mark the receiver's copy purged; False when it already was or the referral is not closed."""

    async def ended_enrollments(
        self, scope: Scope, ended_before: date, after: UUID | None, limit: int
    ) -> list[EndedEnrollment]:
        """Enrollments that ended on a day before `ended_before`, by id."""

    async def delete_enrollment(self, enrollment_id: EnrollmentId, ended_before: date) -> bool:
        """Delete an enrollment that ended before the day; False when it is gone or not due."""

    async def ended_consents(
        self, scope: Scope, ended_before: datetime, after: UUID | None, limit: int
    ) -> list[EndedConsent]:
        """Consents withdrawn before the moment or valid until a day before its day, by id."""

    async def delete_consent(self, consent_id: ConsentId, ended_before: datetime) -> bool:
        """Delete a consent that ended before the moment; False when it is gone or not due."""

    async def ended_agreements(self, ended_before: datetime, after: UUID | None, limit: int) -> list[EndedAgreement]:
        """Agreements ended before the moment or valid until a day before its day, with their parties, by id."""

    async def delete_agreement(self, agreement_id: AgreementId) -> bool:
        """Delete an agreement with its parties; False when it is gone."""

    async def idle_persons(self, idle_before: datetime, after: UUID | None, limit: int) -> list[IdlePerson]:
        """Persons not yet anonymised with no enrollment, current membership, open referral, consent or
        Niebieska Karta record, and no change to them, their memberships or referrals since the moment."""
