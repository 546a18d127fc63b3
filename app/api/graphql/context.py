"""Per-request GraphQL context: the authenticated caller and its DataLoaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Security
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from app.api.deps import container_dep, current_caller
from app.api.graphql.errors import domain_call
from app.bootstrap import Container
from app.domain.caller import Caller
from app.domain.contracts import Contract
from app.domain.diagnoses import Diagnosis
from app.domain.ids import FamilyId, PersonId
from app.domain.services.contracts import contracts_of_families
from app.domain.services.delivery_records import DeliveryRecord, delivery_record
from app.domain.services.families import read_families
from app.domain.services.family_work import diagnoses_of_families
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

        async def load_diagnoses(ids: Sequence[FamilyId]) -> list[list[Diagnosis]]:
            found = await domain_call(diagnoses_of_families(app.ctx, caller, ids))
            return [[d for d in found if d.family_id == i] for i in ids]

        async def load_contracts(ids: Sequence[FamilyId]) -> list[list[Contract]]:
            found = await domain_call(contracts_of_families(app.ctx, caller, ids))
            return [[c for c in found if c.family_id == i] for i in ids]

        async def load_records(keys: Sequence[tuple[FamilyId, tuple[PersonId, ...]]]) -> list[DeliveryRecord]:
            families = [k[0] for k in keys]
            persons = sorted({p for k in keys for p in k[1]}, key=str)
            record = await domain_call(delivery_record(app.ctx, caller, persons, families))
            return [
                DeliveryRecord(
                    hours=[h for h in record.hours if h.family_id == f or h.person_id in members],
                    benefits=[b for b in record.benefits if b.person_id in members],
                    outcomes=[o for o in record.outcomes if o.person_id in members],
                )
                for f, members in keys
            ]

        # One batch per tick: a family list and every member's families cost the same few queries.
        self.family_loader: DataLoader[FamilyId, FamilyView | None] = DataLoader(load_fn=load_families)
        self.referral_loader: DataLoader[PersonId, list[ReferralView]] = DataLoader(load_fn=load_referrals)
        self.diagnosis_loader: DataLoader[FamilyId, list[Diagnosis]] = DataLoader(load_fn=load_diagnoses)
        self.contract_loader: DataLoader[FamilyId, list[Contract]] = DataLoader(load_fn=load_contracts)
        self.record_loader: DataLoader[tuple[FamilyId, tuple[PersonId, ...]], DeliveryRecord] = DataLoader(
            load_fn=load_records
        )


async def graph_context(
    app: Annotated[Container, Depends(container_dep)], caller: Annotated[Caller, Security(current_caller)]
) -> GraphContext:
    return GraphContext(app, caller)
