"""The GraphQL schema: queries and mutations over the same use cases as REST."""

from __future__ import annotations

from uuid import UUID

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.api.deps import encode_cursor, page_of
from app.api.graphql.context import GraphContext
from app.api.graphql.errors import domain_call
from app.api.graphql.referrals import OutcomeInput, Referral, ReferralActionName, ReferralInput
from app.api.graphql.types import Family, FamilyInput, FamilyPage, MemberInput, Person
from app.config import Settings
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import FamilyId, InstitutionId, PersonId, ReferralId
from app.domain.pagination import MAX_PAGE_SIZE, PageRequest
from app.domain.ports import ReferralFilter
from app.domain.referrals import Action, Outcome, ReferralStatus, RequestedInstrument
from app.domain.services import families as family_use
from app.domain.services import persons as person_use
from app.domain.services import referrals as referral_use

Info = strawberry.Info[GraphContext, None]


@strawberry.type
class Query:
    @strawberry.field(description="A family with its members, their enrollments and workers.")
    async def family(self, info: Info, id: UUID) -> Family | None:
        view = await info.context.family_loader.load(FamilyId(id))
        return Family(view=view) if view else None

    @strawberry.field(description="Families the caller's institution works with.")
    async def families(self, info: Info, first: int = 50, after: str | None = None) -> FamilyPage:
        page = await domain_call(_page(first, after))
        found = await domain_call(family_use.list_families(info.context.app.ctx, info.context.caller, page))
        for view in found.items:
            info.context.family_loader.prime(view.family.id, view)
        return FamilyPage(items=[Family(view=v) for v in found.items], next_cursor=encode_cursor(found.next_after))

    @strawberry.field
    async def referral(self, info: Info, id: UUID) -> Referral:
        view = await domain_call(referral_use.read_referral(info.context.app.ctx, info.context.caller, ReferralId(id)))
        return Referral(view=view)

    @strawberry.field(description="Your inbox (sent to you) or outbox (sent by you).")
    async def referrals(
        self,
        info: Info,
        box: str = "inbox",
        status: str | None = None,
        overdue: bool = False,
        first: int = 50,
        after: str | None = None,
    ) -> ReferralPage:
        page = await domain_call(_page(first, after))
        where = await domain_call(_referral_filter(info, box, status, overdue))
        found = await domain_call(referral_use.list_referrals(info.context.app.ctx, info.context.caller, where, page))
        return ReferralPage(items=[Referral(view=v) for v in found.items], next_cursor=encode_cursor(found.next_after))

    @strawberry.field
    async def person(self, info: Info, id: UUID) -> Person:
        view = await domain_call(person_use.read_person(info.context.app.ctx, info.context.caller, PersonId(id)))
        return Person(view=view)


async def _referral_filter(info: Info, box: str, status: str | None, overdue: bool) -> ReferralFilter:
    if box not in ("inbox", "outbox"):
        raise InvalidInput("box is inbox or outbox", [FieldError("box", "inbox or outbox")])
    try:
        wanted = ReferralStatus(status) if status else None
    except ValueError:
        raise InvalidInput("unknown status", [FieldError("status", "not a referral status")]) from None
    today = info.context.app.ctx.clock.now().date()
    return ReferralFilter(box=box, status=wanted, overdue_on=today if overdue else None)


async def _page(first: int, after: str | None) -> PageRequest:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(
            f"first must be between 1 and {MAX_PAGE_SIZE}", extensions={"code": "validation-error", "status": 422}
        )
    return page_of(first, after)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_family(self, info: Info, input: FamilyInput) -> Family:
        command = family_use.CreateFamily(
            name=input.name,
            teryt=input.teryt,
            members=[
                family_use.NewMember(person_id=PersonId(m.person_id), role=m.role, since=m.since) for m in input.members
            ],
        )
        view = await domain_call(family_use.create_family(info.context.app.ctx, info.context.caller, command))
        return Family(view=view)

    @strawberry.mutation(description="`version` is the family's version last read; a stale one is refused.")
    async def add_family_member(self, info: Info, family_id: UUID, version: int, member: MemberInput) -> Family:
        command = family_use.AddMember(
            family_id=FamilyId(family_id),
            expected_version=version,
            member=family_use.NewMember(person_id=PersonId(member.person_id), role=member.role, since=member.since),
        )
        view = await domain_call(family_use.add_member(info.context.app.ctx, info.context.caller, command))
        return Family(view=view)

    @strawberry.mutation
    async def create_referral(self, info: Info, input: ReferralInput) -> Referral:
        command = referral_use.CreateReferral(
            receiver_id=InstitutionId(input.receiver_id) if input.receiver_id else None,
            service_id=str(input.service_id) if input.service_id else None,
            person_id=PersonId(input.person_id) if input.person_id else None,
            family_id=FamilyId(input.family_id) if input.family_id else None,
            member_ids=[PersonId(m) for m in input.member_ids],
            reason=input.reason,
            instrument=RequestedInstrument(code_list=input.instrument.code_list, code=input.instrument.code),
            justification=input.justification,
            priority=input.priority,
            respond_by=input.respond_by,
            send=input.send,
        )
        view = await domain_call(referral_use.create_referral(info.context.app.ctx, info.context.caller, command))
        return Referral(view=view)

    @strawberry.mutation(description="Take an action on a referral; `version` is the one last read.")
    async def referral_action(
        self,
        info: Info,
        referral_id: UUID,
        version: int,
        action: ReferralActionName,
        reason: str | None = None,
        note: str | None = None,
        outcomes: list[OutcomeInput] | None = None,
        forward_to: UUID | None = None,
    ) -> Referral:
        command = referral_use.TakeAction(
            referral_id=ReferralId(referral_id),
            expected_version=version,
            action=Action(action.value),
            reason=reason,
            note=note,
            outcomes=[
                Outcome(person_id=PersonId(o.person_id), kind=o.kind, on=o.on, note=o.note) for o in outcomes or []
            ],
            forward_to=InstitutionId(forward_to) if forward_to else None,
        )
        view = await domain_call(referral_use.take_action(info.context.app.ctx, info.context.caller, command))
        return Referral(view=view)


@strawberry.type
class ReferralPage:
    items: list[Referral]
    next_cursor: str | None


def _unexpected(error: GraphQLError) -> bool:
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


class QuietSchema(strawberry.Schema):
    """Domain errors are answers, not faults: only unexpected errors reach the error log."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        unexpected = [e for e in errors if _unexpected(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    # The depth and alias limits as rule classes made once: QueryDepthLimiter and MaxAliasesLimiter make a new class
    # per instance, so per request, and the validation cache (keyed by the rules) would never hit again.
    limits: list[type[ASTValidationRule]] = [
        depth_rule(settings.graphql_max_depth, None),
        aliases_rule(settings.graphql_max_aliases),
    ]
    return QuietSchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(auto_camel_case=False),
        # Factories, so each request gets fresh extension state; the parse and validation caches
        # themselves live at module level and are shared.
        extensions=[
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: AddValidationRules(limits),
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            # Unexpected failures reach clients as "Unexpected error."; domain errors keep their message.
            lambda: MaskErrors(should_mask_error=_unexpected),
        ],
    )
