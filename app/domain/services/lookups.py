"""The shared-client lookup: is this person also served elsewhere, and who is their worker there?

It answers that and nothing more (no benefits, no case content), only for institutions the access policy
opens to the caller for the named purpose, and an answer with nothing allowed looks exactly like no match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.domain.audit import AuditAction, AuditRecord, Decision, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.errors import FieldError, InvalidInput, PermissionDenied, RateLimited
from app.domain.ids import PersonId, new_id
from app.domain.institutions import Institution, Worker
from app.domain.lookup_reads import LookupGrounds, LookupKey, RateWindow
from app.domain.persons import Enrollment
from app.domain.services.access import AccessCheck, check_purpose, checked_on, requester_of, status_category
from app.domain.services.context import UseCaseContext, audit_record
from app.domain.values import Pesel


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedClientQuery:
    purpose: str
    pesel: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServedThere:
    institution: Institution
    since: date
    worker: Worker | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedClientMatch:
    person_id: PersonId
    served_at: list[ServedThere]


def _window(ctx: UseCaseContext, caller: Caller) -> tuple[RateWindow, int]:
    """The client's current window, and the seconds until the next one opens."""
    seconds = ctx.policies.lookup_window_seconds
    now = ctx.clock.now()
    epoch = int(now.timestamp())
    start = epoch - epoch % seconds
    window = RateWindow(
        bucket=f"lookup:{caller.institution_id}:{caller.subject}",
        start=datetime.fromtimestamp(start, tz=now.tzinfo),
        per_window=ctx.policies.lookups_per_window,
    )
    return window, start + seconds - epoch


def _refused(ctx: UseCaseContext, retry_after: int) -> RateLimited:
    per_window, seconds = ctx.policies.lookups_per_window, ctx.policies.lookup_window_seconds
    return RateLimited(f"at most {per_window} lookups per {seconds} s for one client", max(retry_after, 1))


def _validate(query: SharedClientQuery) -> LookupKey:
    if query.pesel is not None:
        if any(v is not None for v in (query.first_name, query.last_name, query.birth_date)):
            raise InvalidInput(
                "look up by PESEL or by names and birth date, not both",
                [FieldError("pesel", "give either a PESEL or names with a birth date")],
            )
        return LookupKey(pesel=Pesel.parse(query.pesel))
    missing = [
        FieldError(name, "required without a PESEL")
        for name, value in (
            ("first_name", query.first_name),
            ("last_name", query.last_name),
            ("birth_date", query.birth_date),
        )
        if not value or (isinstance(value, str) and not value.strip())
    ]
    if missing:
        raise InvalidInput("a person without PESEL is looked up by names and birth date", missing)
    return LookupKey(first_name=query.first_name, last_name=query.last_name, birth_date=query.birth_date)


async def lookup_shared_client(
    ctx: UseCaseContext, caller: Caller, query: SharedClientQuery
) -> list[SharedClientMatch]:
    """Two trips to storage: the grounds, then the audit records with the count against the client's limit.

    A client whose window is spent is refused before anything is searched: the answer comes as fast whether the
    person exists or not. Lookups at the same moment that the read let through are refused when they are counted
    and leave no trace; a lookup that matches nothing, or nothing the caller may see, counts (against
    enumeration)."""
    caller.require(Scope.PERSONS_READ)
    check_purpose(ctx, query.purpose)
    key = _validate(query)
    window, retry_after = _window(ctx, caller)
    grounds = await ctx.reads.lookups.grounds(caller.institution_id, key, window)
    if grounds.hits >= window.per_window:
        raise _refused(ctx, retry_after)
    if grounds.caller_institution is None:
        raise PermissionDenied("the token's institution is not registered in Spójnia")
    check = checked_on(
        ctx, requester_of(caller, grounds.caller_institution, query.purpose), grounds.agreements, grounds.consents
    )
    matches, records = _disclose(caller, grounds, check, query.purpose)
    if not await ctx.reads.lookups.record(records, window):
        raise _refused(ctx, retry_after)
    return matches


def _disclose(
    caller: Caller, grounds: LookupGrounds, check: AccessCheck, purpose: str
) -> tuple[list[SharedClientMatch], list[AuditRecord]]:
    """What the policy opens of each candidate, and the audit record of each disclosure."""
    places = grounds.institutions
    matches: list[SharedClientMatch] = []
    records: list[AuditRecord] = []
    for person_id in grounds.candidates:
        decided = [
            (e, check.decide(person_id, status_category(places[e.institution_id].type), e.institution_id))
            for e in grounds.active_enrollments
            if e.person_id == person_id
        ]
        allowed = [e for e, decision in decided if decision.allowed]
        if not allowed:
            continue
        reasons = [decision.reason for _, decision in decided if decision.allowed]
        records.append(
            audit_record(
                caller,
                AuditAction.LOOKUP,
                SubjectType.PERSON,
                person_id,
                at=check.at,
                categories=tuple(sorted({status_category(places[e.institution_id].type) for e in allowed})),
                purpose=purpose,
                reason="; ".join(dict.fromkeys(reasons)),
            )
        )
        matches.append(SharedClientMatch(person_id=person_id, served_at=_served(allowed, grounds)))
    if not matches:
        # Recorded without a subject: a refused match is told apart from no match nowhere, not even in the
        # caller's own audit trail, so that the trail cannot be used to enumerate who exists.
        records.append(
            audit_record(
                caller,
                AuditAction.LOOKUP,
                SubjectType.LOOKUP,
                new_id(),
                at=check.at,
                purpose=purpose,
                decision=Decision.DENY,
                reason="no match that the agreements and consents open to you",
            )
        )
    return matches, records


def _served(enrollments: list[Enrollment], grounds: LookupGrounds) -> list[ServedThere]:
    return [
        ServedThere(
            institution=grounds.institutions[e.institution_id],
            since=e.since,
            worker=grounds.workers.get(e.worker_id) if e.worker_id else None,
        )
        for e in enrollments
    ]
