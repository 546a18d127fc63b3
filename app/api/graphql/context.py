"""Per-request GraphQL context: the authenticated caller and its DataLoaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Security
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from app.api.deps import container, current_caller
from app.api.graphql.errors import domain_call
from app.bootstrap import Container
from app.domain.caller import Caller
from app.domain.ids import FamilyId, PersonId
from app.domain.services.families import read_families
from app.domain.services.referrals import ReferralView, referrals_about
from app.domain.services.views import FamilyView


class GraphContext(BaseContext):
    def __init__(self, app: Container, caller: Caller) -> None:
        super().__init__()
        self.app = app
        self.caller = caller

        async def load_families(ids: Sequence[FamilyId]) -> list[FamilyView | None]:
            return await domain_call(read_families(app.ctx, caller, ids))

        async def load_referrals(ids: Sequence[PersonId]) -> list[list[ReferralView]]:
            about = await domain_call(referrals_about(app.ctx, caller, ids))
            return [about[i] for i in ids]

        # One batch per tick: a family list and every member's families cost the same few queries.
        self.family_loader: DataLoader[FamilyId, FamilyView | None] = DataLoader(load_fn=load_families)
        self.referral_loader: DataLoader[PersonId, list[ReferralView]] = DataLoader(load_fn=load_referrals)


async def graph_context(
    app: Annotated[Container, Depends(container)], caller: Annotated[Caller, Security(current_caller)]
) -> GraphContext:
    return GraphContext(app, caller)
