"""Bodies of /v1/reconciliation and /v1/person-merges."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from app.api.rest.schemas import Strict
from app.domain.person_merges import LinkSummary, MergeState
from app.domain.reconciliation import Compared, Difference, Report, ReporterKind, Resolution
from app.domain.services.person_merges import MergeView


class MemberOut(BaseModel):
    person_id: UUID | None = Field(description="Null for a member the source names but Spójnia has not matched.")
    role: str = Field(description="Code of the FamilyRole list.")


class ReportedBy(BaseModel):
    kind: ReporterKind = Field(
        description="`source`: what the institution's record system last said; `enrollment`: Spójnia's record of "
        "the person's status at the institution; `family`: a family in Spójnia, kept by the institution."
    )
    institution_id: UUID
    family_id: UUID | None = None


class ValueOut(BaseModel):
    key: str = Field(description="Names this value when resolving the difference (`chosen`).")
    reported_by: ReportedBy
    value: bool | str | list[MemberOut] = Field(
        description="`household`: the members with their roles; `registered_unemployed`: true or false; "
        "`address_gmina`: the gmina's 7-digit TERYT code."
    )
    detail: str | None = Field(default=None, description="E.g. the labour-office status behind a true or false.")
    since: datetime = Field(description="The reporter has held this value at least since then.")

    @classmethod
    def of(cls, r: Report) -> ValueOut:
        value: bool | str | list[MemberOut]
        if isinstance(r.value, tuple):
            listed = sorted(r.members, key=lambda m: m.canonical)
            value = [MemberOut(person_id=m.person_id, role=m.role) for m in listed]
        else:
            value = r.value
        return cls(
            key=r.key,
            reported_by=ReportedBy(kind=r.kind, institution_id=r.institution_id, family_id=r.family_id),
            value=value,
            detail=r.detail,
            since=r.since,
        )


class ResolutionOut(BaseModel):
    chosen: str = Field(description="The key of the value judged right.")
    chosen_value: bool | str | list[list[str]] | None
    note: str | None
    resolved_at: datetime
    resolved_by: str

    @classmethod
    def of(cls, r: Resolution) -> ResolutionOut:
        value = r.chosen_value if isinstance(r.chosen_value, bool | str | list) else None
        return cls(chosen=r.chosen_key, chosen_value=value, note=r.note, resolved_at=r.resolved_at, resolved_by=r.actor)


class SubjectOut(BaseModel):
    type: Literal["person"] = "person"
    id: UUID


class DifferenceOut(BaseModel):
    id: UUID
    subject: SubjectOut
    field: Compared
    status: Literal["open", "resolved"] = Field(
        description="`resolved` when your institution recorded a decision on exactly these values; a new value "
        "opens it again."
    )
    since: datetime = Field(description="The values have disagreed at least since then.")
    fingerprint: str = Field(description="Of the values listed: send it back as `values_seen` when resolving.")
    values: list[ValueOut] = Field(
        description="Only values your institution may see under the access policy: any other is left out "
        "entirely, not even hinted at."
    )
    resolution: ResolutionOut | None = Field(description="Your institution's latest decision about it.")

    @classmethod
    def of(cls, d: Difference) -> DifferenceOut:
        return cls(
            id=d.id,
            subject=SubjectOut(id=d.person_id),
            field=d.field,
            status="open" if d.open else "resolved",
            since=d.since,
            fingerprint=d.fingerprint,
            values=[ValueOut.of(r) for r in d.reports],
            resolution=ResolutionOut.of(d.resolution) if d.resolution else None,
        )


class ResolveIn(Strict):
    chosen: str = Field(min_length=1, max_length=200, description="The `key` of the value your worker judged right.")
    values_seen: str = Field(min_length=64, max_length=64, description="The difference's `fingerprint` as you read it.")
    note: str | None = Field(default=None, max_length=1000)


class MergeIn(Strict):
    kept_person_id: UUID = Field(description="The record that stays (usually the one with the PESEL).")
    merged_person_id: UUID = Field(description="The duplicate: its links move to the kept record, its row stays.")
    reason: str = Field(min_length=1, max_length=500, examples=["zarejestrowana bez PESEL, zidentyfikowana 2026-03-02"])


class UndoIn(Strict):
    note: str | None = Field(default=None, max_length=500)
    keep_links_added_since: bool = Field(
        default=False,
        description="Links recorded for the kept person since the merge cannot be told apart: true leaves them "
        "with the kept person; without it such links refuse the undo (409).",
    )


class LinkCounts(BaseModel):
    moved: dict[str, int] = Field(description="Rows re-pointed at the kept person, by kind of link (table).")
    ended: dict[str, int] = Field(
        description="Of those, open duplicates ended (an enrollment at the same institution, a membership of the "
        "same family as the kept person's): the undo reopens them."
    )
    set_aside: dict[str, int] = Field(
        description="Rows the kept person already had the like of (a subject of the same referral): set aside, "
        "returned by the undo."
    )
    rewritten: dict[str, int] = Field(description="Rows naming the person inside a document (contracts, sources).")

    @classmethod
    def of(cls, s: LinkSummary) -> LinkCounts:
        return cls(moved=dict(s.moved), ended=dict(s.ended), set_aside=dict(s.set_aside), rewritten=dict(s.rewritten))


class PersonMergeOut(BaseModel):
    id: UUID
    kept_person_id: UUID
    merged_person_id: UUID
    state: MergeState
    reason: str
    merged_at: datetime
    merged_by: str
    pesel_moved: bool = Field(description="The kept record took the merged one's PESEL (it had none).")
    identity_document_moved: bool
    links: LinkCounts
    undone_at: datetime | None
    undone_by: str | None
    undo_note: str | None
    version: int

    @classmethod
    def of(cls, v: MergeView) -> PersonMergeOut:
        m = v.merge
        return cls(
            id=m.id,
            kept_person_id=m.kept_person_id,
            merged_person_id=m.merged_person_id,
            state=m.state,
            reason=m.reason,
            merged_at=m.merged_at,
            merged_by=m.actor,
            pesel_moved=m.identity.pesel,
            identity_document_moved=m.identity.identity_document,
            links=LinkCounts.of(v.moved),
            undone_at=m.undone_at,
            undone_by=m.undone_by,
            undo_note=m.undo_note,
            version=m.version,
        )
