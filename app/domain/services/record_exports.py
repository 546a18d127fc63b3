"""Use cases of exports to an institution's own system: the referrals it received and the contract actions it
is responsible for, each with the institution's own ids of the persons where its imports linked them.

A referral's envelope is the one the receiver reads over the REST API (the same access policy, the same
retention), so a file shows no more than a worker of the institution sees; each person whose identity goes
into the file is audited as exported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from app.domain.audit import AuditAction, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.data_categories import DataCategory
from app.domain.ids import PersonId
from app.domain.pagination import PageRequest, Position
from app.domain.ports import ReferralFilter
from app.domain.record_imports import RecordImportStore
from app.domain.record_systems import ContractActionSummary, ReferralEnvelope
from app.domain.services.context import UseCaseContext, audit
from app.domain.services.partner_links import envelope_of
from app.domain.services.referrals import list_referrals

_REASON = "export to the institution's own record system"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralExport:
    envelopes: Sequence[ReferralEnvelope]
    own_refs: Mapping[PersonId, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractActionExport:
    actions: Sequence[ContractActionSummary]
    own_refs: Mapping[PersonId, str]


async def export_referrals(ctx: UseCaseContext, store: RecordImportStore, caller: Caller) -> ReferralExport:
    """Every referral in the institution's inbox, oldest first."""
    caller.require(Scope.REFERRALS_READ)
    envelopes: list[ReferralEnvelope] = []
    after: Position | None = None
    while True:
        page = await list_referrals(ctx, caller, ReferralFilter(box="inbox"), PageRequest(limit=100, after=after))
        envelopes.extend(envelope_of(view) for view in page.items)
        if page.next_after is None:
            break
        after = page.next_after
    person_ids = list(dict.fromkeys(PersonId(UUID(s.external_ref)) for e in envelopes for s in e.subjects))
    async with store() as uow:
        own_refs = await uow.sources.refs_of_persons(caller.institution_id, person_ids)
        categories = [DataCategory.IDENTITY]
        await audit(
            uow, ctx, caller, AuditAction.EXPORT, SubjectType.PERSON, person_ids, categories=categories, reason=_REASON
        )
        await uow.commit()
    return ReferralExport(envelopes=envelopes, own_refs=own_refs)


async def export_contract_actions(
    ctx: UseCaseContext, store: RecordImportStore, caller: Caller
) -> ContractActionExport:
    """Actions of the contracts the institution is a party to that name it responsible."""
    caller.require(Scope.CONTRACTS_READ)
    async with store() as uow:
        actions = await uow.exports.contract_actions_of(caller.institution_id)
        person_ids = list(dict.fromkeys(p for a in actions for p in a.person_ids))
        own_refs = await uow.sources.refs_of_persons(caller.institution_id, person_ids)
        contract_ids = list(dict.fromkeys(a.contract_id for a in actions))
        await audit(uow, ctx, caller, AuditAction.EXPORT, SubjectType.CONTRACT, contract_ids, reason=_REASON)
        await uow.commit()
    return ContractActionExport(actions=actions, own_refs=own_refs)
