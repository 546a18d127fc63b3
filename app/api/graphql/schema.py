"""The GraphQL schema: queries and mutations over the same use cases as REST."""

from __future__ import annotations

from uuid import UUID

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from app.api.deps import encode_cursor, page_request
from app.api.graphql.context import GraphContext
from app.api.graphql.errors import domain_call
from app.api.graphql.types import Family, FamilyInput, FamilyPage, MemberInput, Person
from app.config import Settings
from app.domain.ids import FamilyId, PersonId
from app.domain.pagination import MAX_PAGE_SIZE, PageRequest
from app.domain.services import families as family_use
from app.domain.services import persons as person_use

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
    async def person(self, info: Info, id: UUID) -> Person:
        view = await domain_call(person_use.read_person(info.context.app.ctx, info.context.caller, PersonId(id)))
        return Person(view=view)


async def _page(first: int, after: str | None) -> PageRequest:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(
            f"first must be between 1 and {MAX_PAGE_SIZE}", extensions={"code": "validation-error", "status": 422}
        )
    return page_request(limit=first, cursor=after)


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


def _unexpected(error: GraphQLError) -> bool:
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


def build_schema(settings: Settings) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(auto_camel_case=False),
        # Factories, so each request gets fresh extension state; the parse and validation caches
        # themselves live at module level and are shared.
        extensions=[
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
            # Unexpected failures reach clients as "Unexpected error."; domain errors keep their message.
            lambda: MaskErrors(should_mask_error=_unexpected),
        ],
    )
