"""Exports an institution's system loads: the referrals it received and the contract actions it is responsible
for, as CSV in its profile's columns, codes, date format and encoding. The same profile reads them back
(`read_referrals`, `read_contract_actions`), which is how a vendor's loader sees them.

Referrals: one row per person concerned (a family's referral repeats its columns for each member), with the
person's id in Spójnia and, when the institution's own import linked them, its own external ref. Contract
actions: one row per action and person.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from uuid import UUID

from app.adapters.record_systems.profiles import Layout, Profile
from app.adapters.record_systems.readers import FileProblem, RawRow, read_csv
from app.domain.ids import ContractActionId, ContractId, InstitutionId, PersonId, ReferralId
from app.domain.record_systems import ContractActionSummary, ReferralEnvelope, SourcePerson


class ExportProblem(Exception):
    """What was to be exported cannot be written in the profile's encoding."""


def _encode(text: str, profile: Profile, what: str) -> bytes:
    try:
        return text.encode(profile.export_encoding)
    except UnicodeEncodeError as error:
        character = error.object[error.start : error.end]
        raise ExportProblem(
            f"{what} holds '{character}', which {profile.export_encoding} cannot write; set csv.export_encoding "
            "to utf-8 in your institution's override of the profile"
        ) from None


def _write(layout: Layout, profile: Profile, rows: Sequence[Mapping[str, str]], what: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=profile.delimiter or ";", lineterminator="\r\n")
    fields = list(layout.columns)
    writer.writerow([layout.columns[f] for f in fields])
    for row in rows:
        writer.writerow([row.get(f, "") for f in fields])
    return _encode(out.getvalue(), profile, what)


def _day(profile: Profile, day: date | None) -> str:
    return profile.format_date(day) if day else ""


def _moment(at: datetime | None) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else ""


def referrals_csv(envelopes: Sequence[ReferralEnvelope], own_refs: Mapping[PersonId, str], profile: Profile) -> bytes:
    """`own_refs`: the institution's own ids of persons (its source records), by Spójnia person id."""
    rows: list[dict[str, str]] = []
    for e in envelopes:
        common = {
            "referral_id": str(e.referral_id),
            "sender_id": str(e.sender_id),
            "receiver_id": str(e.receiver_id),
            "status": profile.to_vendor_code("referral_status", e.status),
            "reason": profile.to_vendor_code("reason", e.reason),
            "instrument_code_list": e.instrument_code_list,
            "instrument_code": profile.to_vendor_code("instrument", e.instrument_code),
            "respond_by": _day(profile, e.respond_by),
            "sent_at": _moment(e.sent_at),
        }
        subjects: Sequence[SourcePerson | None] = e.subjects or [None]
        for s in subjects:
            rows.append(common | (_subject(s, own_refs, profile) if s is not None else {}))
    return _write(profile.referrals, profile, rows, "a referral")


def _subject(s: SourcePerson, own_refs: Mapping[PersonId, str], profile: Profile) -> dict[str, str]:
    # Subjects of an envelope carry Spójnia's person id as their external ref (app/domain/services/partner_links.py).
    person_id = PersonId(UUID(s.external_ref))
    return {
        "person_id": str(person_id),
        "external_ref": own_refs.get(person_id, ""),
        "pesel": s.pesel or "",
        "first_name": s.first_name,
        "last_name": s.last_name,
        "birth_date": _day(profile, s.birth_date),
        "sex": profile.to_vendor_code("sex", s.sex) if s.sex else "",
    }


def contract_actions_csv(
    actions: Sequence[ContractActionSummary], own_refs: Mapping[PersonId, str], profile: Profile
) -> bytes:
    rows: list[dict[str, str]] = []
    for a in actions:
        common = {
            "contract_id": str(a.contract_id),
            "action_id": str(a.action_id or ""),
            "action": a.action,
            "responsible_institution_id": str(a.responsible_institution_id or ""),
            "instrument_code_list": a.instrument_code_list or "",
            "instrument_code": profile.to_vendor_code("instrument", a.instrument_code) if a.instrument_code else "",
            "due": _day(profile, a.due),
            "status": a.status or "",
        }
        persons: Sequence[PersonId | None] = a.person_ids or [None]
        for person_id in persons:
            person = {"person_id": str(person_id), "external_ref": own_refs.get(person_id, "")} if person_id else {}
            rows.append(common | person)
    return _write(profile.contract_actions, profile, rows, "a contract action")


# ---------------------------------------------------------------------------------------------
# Reading them back, as the institution's system would
# ---------------------------------------------------------------------------------------------


def _rows(data: bytes, profile: Profile, layout: Layout) -> list[RawRow]:
    return read_csv(data, profile, layout)


def _uuid(raw: RawRow, field: str) -> UUID:
    value = raw.values.get(field)
    try:
        return UUID(value or "")
    except ValueError:
        raise FileProblem(raw.line, f"{field} is not an id: {value!r}") from None


def _date(raw: RawRow, field: str, profile: Profile) -> date | None:
    value = raw.values.get(field)
    return profile.parse_date(value) if value else None


def read_referrals(data: bytes, profile: Profile) -> list[ReferralEnvelope]:
    grouped: dict[UUID, list[RawRow]] = defaultdict(list)
    for raw in _rows(data, profile, profile.referrals):
        grouped[_uuid(raw, "referral_id")].append(raw)
    envelopes = []
    for referral_id, raws in grouped.items():
        first = raws[0].values
        sent_at = first.get("sent_at")
        envelopes.append(
            ReferralEnvelope(
                referral_id=ReferralId(referral_id),
                sender_id=InstitutionId(_uuid(raws[0], "sender_id")),
                receiver_id=InstitutionId(_uuid(raws[0], "receiver_id")),
                status=profile.to_shared_code("referral_status", first.get("status") or "") or "",
                reason=profile.to_shared_code("reason", first.get("reason") or "") or "",
                instrument_code_list=first.get("instrument_code_list") or "",
                instrument_code=profile.to_shared_code("instrument", first.get("instrument_code") or "") or "",
                respond_by=_date(raws[0], "respond_by", profile),
                sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
                subjects=[
                    SourcePerson(
                        external_ref=raw.values.get("person_id") or "",
                        first_name=raw.values.get("first_name") or "",
                        last_name=raw.values.get("last_name") or "",
                        pesel=raw.values.get("pesel"),
                        birth_date=_date(raw, "birth_date", profile),
                        sex=profile.to_shared_code("sex", raw.values["sex"] or "") if raw.values.get("sex") else None,
                    )
                    for raw in raws
                    if raw.values.get("person_id")
                ],
            )
        )
    return envelopes


def read_contract_actions(data: bytes, profile: Profile) -> list[ContractActionSummary]:
    grouped: dict[tuple[UUID, str], list[RawRow]] = defaultdict(list)
    for raw in _rows(data, profile, profile.contract_actions):
        grouped[(_uuid(raw, "contract_id"), raw.values.get("action_id") or "")].append(raw)
    actions = []
    for (contract_id, action_id), raws in grouped.items():
        first = raws[0].values
        responsible = first.get("responsible_institution_id")
        code = first.get("instrument_code")
        actions.append(
            ContractActionSummary(
                contract_id=ContractId(contract_id),
                action_id=ContractActionId(UUID(action_id)) if action_id else None,
                action=first.get("action") or "",
                responsible_institution_id=InstitutionId(UUID(responsible)) if responsible else None,
                due=_date(raws[0], "due", profile),
                status=first.get("status"),
                instrument_code_list=first.get("instrument_code_list"),
                instrument_code=profile.to_shared_code("instrument", code) if code else None,
                person_ids=tuple(PersonId(_uuid(r, "person_id")) for r in raws if r.values.get("person_id")),
            )
        )
    return actions
