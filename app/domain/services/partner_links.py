"""Use cases of partner APIs: the envelope a partner's system is sent, and the statuses it reports back.

Both act as the partner's institution through the same use cases as the REST API (`read_referral`,
`take_action`), so a partner's system is shown no more and may do no more than its institution's workers:
the envelope passes the access policy at the moment it is sent, and a reported status moves a referral
only where the lifecycle allows it.
"""

from __future__ import annotations

from app.domain.caller import Caller, Scope
from app.domain.clock import local_date
from app.domain.errors import DomainError, StaleVersion
from app.domain.ids import InstitutionId, ReferralId
from app.domain.partner_links import PARTNER_ACTOR, Decision, StatusDecision, status_action
from app.domain.record_systems import ReferralEnvelope, SourcePerson, StatusReport
from app.domain.referrals import Action, Outcome, ReferralStatus
from app.domain.services.context import UseCaseContext
from app.domain.services.referrals import ReferralView, TakeAction, read_referral, take_action


def partner_caller(institution_id: InstitutionId, request_id: str) -> Caller:
    """The partner's system acting for its institution: referrals only, no worker."""
    return Caller(
        subject=PARTNER_ACTOR,
        institution_id=institution_id,
        scopes=frozenset({Scope.REFERRALS_READ.value, Scope.REFERRALS_WRITE.value}),
        roles=frozenset(),
        worker_id=None,
        request_id=request_id,
    )


def envelope_of(view: ReferralView) -> ReferralEnvelope:
    """The envelope as the receiver reads it over the REST API (subjects and free text already filtered)."""
    r = view.referral
    sent = (Action.SEND, Action.FORWARD)
    return ReferralEnvelope(
        referral_id=r.id,
        sender_id=r.sender_id,
        receiver_id=r.receiver_id,
        status=r.status.value,
        reason=r.reason,
        instrument_code_list=r.instrument.code_list,
        instrument_code=r.instrument.code,
        respond_by=r.respond_by,
        subjects=[
            SourcePerson(
                external_ref=str(s.person_id),
                first_name=s.first_name,
                last_name=s.last_name,
                birth_date=s.birth_date,
                pesel=s.pesel,
            )
            for s in view.subjects
        ],
        sent_at=next((h.at for h in r.history if h.to_status is ReferralStatus.SENT and h.action in sent), None),
        justification=r.justification,
        priority=r.priority,
        due=r.due,
        forwarded_from=r.forwarded_from,
    )


async def envelope_for_partner(
    ctx: UseCaseContext, partner_id: InstitutionId, referral_id: ReferralId, *, request_id: str
) -> ReferralEnvelope:
    """The envelope built now, from current data, exactly as the partner's institution would read it over REST
    (and audited as its read); NotFound when the institution may not see the referral."""
    view = await read_referral(ctx, partner_caller(partner_id, request_id), referral_id)
    return envelope_of(view)


async def apply_status_report(
    ctx: UseCaseContext, partner_id: InstitutionId, report: StatusReport, *, request_id: str
) -> StatusDecision:
    """One reported status as the receiver's action on the referral; any refusal is a decision, never an error."""
    caller = partner_caller(partner_id, request_id)
    for _ in range(3):  # a worker may act on the same referral meanwhile: read again and retry
        try:
            return await _apply(ctx, caller, report)
        except StaleVersion:
            continue
        except DomainError as error:
            allowed = getattr(error, "allowed", ())
            reason = error.detail + (f" (allowed now: {', '.join(allowed)})" if allowed else "")
            return _rejected(report, reason)
    return _rejected(report, "the referral kept changing while the report was applied; it will be reported again")


def _rejected(report: StatusReport, reason: str) -> StatusDecision:
    return StatusDecision(
        referral_id=report.referral_id, status=report.status, decision=Decision.REJECTED, reason=reason
    )


async def _apply(ctx: UseCaseContext, caller: Caller, report: StatusReport) -> StatusDecision:
    # Reading first checks visibility (NotFound, as over REST) and gives the version to act on.
    view = await read_referral(ctx, caller, report.referral_id)
    referral = view.referral
    if referral.receiver_id != caller.institution_id:
        return _rejected(report, "only the referral's receiver reports its status")
    if referral.status.value == report.status:
        return StatusDecision(referral_id=referral.id, status=report.status, decision=Decision.UNCHANGED)
    action = status_action(referral.status, report.status)
    outcomes: list[Outcome] = []
    if action is Action.COMPLETE and report.outcome_kind is not None:
        on = local_date(report.at)
        outcomes = [
            Outcome(person_id=p, kind=report.outcome_kind, on=on, note=report.note) for p in referral.member_ids
        ]
    await take_action(
        ctx,
        caller,
        TakeAction(
            referral_id=referral.id,
            expected_version=referral.version,
            action=action,
            reason=report.reason,
            note=report.note,
            outcomes=outcomes,
        ),
    )
    return StatusDecision(referral_id=referral.id, status=report.status, decision=Decision.APPLIED, action=action)
