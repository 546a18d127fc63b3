"""The rows of each table, as generators over the plan, each with a generator of its own seeded from the plan's
seed: enrollments (some ended), families and memberships (a few ended), an agreement between each centre and its
PUP, consents of the NGO's clients, referrals with their history and outcomes, the partnerships' contracts, hours,
benefits and outcomes, and the audit history."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from bench.hot_paths.plan import (
    ASSISTANCE_FORMS,
    BENEFIT_BASES,
    D_1962,
    D_2008,
    D_2015,
    D_2024,
    D_2025,
    D_LAST,
    FIRST,
    LABOUR_INSTRUMENTS,
    OUTCOME_KINDS,
    PUP_STATUSES,
    PURPOSES,
    RECEIVES,
    REFERRAL_PATHS,
    SA_STATUSES,
    SEED,
    SURNAMES,
    WORKER_ROLES,
    Plan,
    at,
    new_uuid,
    nip,
    regon,
)

# ---------------------------------------------------------------------------------------------------------------
# Rows, table by table, as generators over the plan (each with its own seeded generator).

Row = tuple[Any, ...]


def institutions_rows(pl: Plan) -> Iterator[Row]:
    rng = random.Random(SEED + 1)
    created = at(rng, D_2015 - 400)
    for i in pl.institutions():
        town = pl.powiats[i.powiat].town
        yield (
            i.id, i.type, i.name, regon(rng), nip(rng), i.teryt, f"ul. Główna {rng.randrange(1, 90)}",
            f"{rng.randrange(10, 99)}-{rng.randrange(100, 999)}", town.split(" ")[0],
            f"sekretariat.{i.key[:8]}@{i.type.lower()}.example.pl", f"+48 89 {rng.randrange(10**6):06d}",
            created, created, 1,
        )  # fmt: skip


def workers_rows(pl: Plan) -> Iterator[Row]:
    rng = random.Random(SEED + 2)
    for i in pl.institutions():
        roles = WORKER_ROLES.get(i.type, WORKER_ROLES["OPS"])
        for n, w in enumerate(i.workers):
            sex = rng.choice("MF")
            first, last = rng.choice(FIRST[sex]), SURNAMES[rng.randrange(len(SURNAMES))][sex == "F"]
            yield (
                w, i.id, first, last, roles[n % len(roles)], f"{w.hex[:10]}@{i.type.lower()}.example.pl",
                f"+48 89 {rng.randrange(10**6):06d}", None, True, at(rng, D_2015 - 300),
            )  # fmt: skip


def persons_rows(pl: Plan, sealed: Sequence[tuple[str, str] | None]) -> Iterator[Row]:
    rng = random.Random(SEED + 3)
    p = pl.persons
    for i in range(len(p.id)):
        created = at(rng, p.since[i])
        seal = sealed[i]
        doc = None if seal else ("PASSPORT", f"F{i:08d}", "UA")
        yield (
            p.id[i], p.first[i], p.last[i], date.fromordinal(p.birth[i]), p.sex[i],
            seal[0] if seal else None, seal[1] if seal else None,
            doc[0] if doc else None, doc[1] if doc else None, doc[2] if doc else None,
            created, created, 1, None,
        )  # fmt: skip


def enrollments_rows(pl: Plan) -> Iterator[Row]:
    rng = random.Random(SEED + 4)
    p = pl.persons
    for i in range(len(p.id)):
        centre = pl.ops[p.ops[i]]
        powiat = pl.powiats[centre.powiat]
        since = p.since[i]
        created = at(rng, since)
        if rng.random() < 0.1:  # an earlier, closed case at the same centre
            began = rng.randrange(D_2015 - 2000, since - 200) if since - 200 > D_2015 - 2000 else since - 400
            ended = began + rng.randrange(30, 180)
            when = at(rng, began)
            yield (new_uuid(rng), p.id[i], centre.id, "CLOSED", date.fromordinal(began), date.fromordinal(ended),
                   rng.choice(centre.workers), None, when, at(rng, ended), 2)  # fmt: skip
        yield (
            new_uuid(rng), p.id[i], centre.id, rng.choice(SA_STATUSES), date.fromordinal(since), None,
            rng.choice(centre.workers), f"POMOST/{i:07d}", created, created, 1,
        )  # fmt: skip
        if p.pup[i]:
            pup_since = rng.randrange(D_2015, D_LAST - 10)
            when = at(rng, pup_since)
            yield (new_uuid(rng), p.id[i], powiat.pup.id, rng.choice(PUP_STATUSES), date.fromordinal(pup_since), None,
                   rng.choice(powiat.pup.workers), f"SYRIUSZ/{i:07d}", when, when, 1)  # fmt: skip
        elif D_1962 <= p.birth[i] <= D_2008 and rng.random() < 0.15:  # registered once, deregistered since
            began = rng.randrange(D_2015, D_LAST - 400)
            yield (new_uuid(rng), p.id[i], powiat.pup.id, "DEREGISTERED", date.fromordinal(began),
                   date.fromordinal(began + rng.randrange(60, 360)), rng.choice(powiat.pup.workers), None,
                   at(rng, began), at(rng, began + 360), 2)  # fmt: skip
        other = p.other[i]
        if other is not None:
            inst = powiat.pcpr if other == "PCPR" else powiat.ngo
            status = "SOCIAL_WORK_CLIENT" if other == "PCPR" else "PARTICIPANT"
            began = rng.randrange(D_2024, D_LAST - 10)
            when = at(rng, began)
            yield (new_uuid(rng), p.id[i], inst.id, status, date.fromordinal(began), None, rng.choice(inst.workers),
                   None, when, when, 1)  # fmt: skip


def families_rows(pl: Plan) -> Iterator[Row]:
    rng = random.Random(SEED + 5)
    f, p = pl.families, pl.persons
    for k in range(len(f.id)):
        centre = pl.ops[p.ops[f.start[k]]]
        surname = p.last[f.start[k]]
        created = at(rng, max(p.since[f.start[k]], f.since[k]))
        yield (f.id[k], f"Rodzina {surname}", centre.teryt, centre.id, created, created, 1)


def memberships_rows(pl: Plan) -> Iterator[Row]:
    """Current members; a fifth of those living alone also left an earlier household of their centre."""
    rng = random.Random(SEED + 6)
    f, p = pl.families, pl.persons
    household_of: dict[int, int] = {}  # centre -> its latest household of two or more
    for k in range(len(f.id)):
        since, centre = f.since[k], p.ops[f.start[k]]
        recorded = at(rng, max(since, p.since[f.start[k]]))
        for i in range(f.start[k], f.start[k] + f.size[k]):
            joined = max(since, p.birth[i])
            yield (new_uuid(rng), f.id[k], p.id[i], p.role[i], date.fromordinal(joined), recorded, None, None)
        earlier = household_of.get(centre)
        if f.size[k] == 1 and earlier is not None and rng.random() < 0.2:
            left = rng.randrange(D_2015, D_LAST - 30)
            yield (new_uuid(rng), f.id[earlier], p.id[f.start[k]], "OTHER_RELATIVE",
                   date.fromordinal(f.since[earlier]), at(rng, D_2015 - 30), date.fromordinal(left),
                   "LEFT_HOUSEHOLD")  # fmt: skip
        if f.size[k] >= 2:
            household_of[centre] = k


def agreements(pl: Plan) -> tuple[list[Row], list[Row]]:
    """Each centre and its PUP: every statutory category both ways, every purpose, signed by both."""
    rng = random.Random(SEED + 7)
    rows: list[Row] = []
    parties: list[Row] = []
    for centre in pl.ops:
        pup = pl.powiats[centre.powiat].pup
        agreement = new_uuid(rng)
        created = at(rng, date(2024, 12, 1).toordinal(), 20)
        rows.append((
            agreement, f"Porozumienie o współpracy {centre.name} i {pup.name}"[:300], PURPOSES,
            "art. 100 ust. 2 i art. 105 ustawy o pomocy społecznej; ustawa z 20 marca 2025 r. o rynku pracy i "
            "służbach zatrudnienia (Dz.U. 2025 poz. 620)", date(2025, 1, 1), None,
            f"Porozumienie nr {len(rows) + 1}/2025", centre.id, created, created + timedelta(days=32), None, None, 3,
        ))  # fmt: skip
        for position, party in enumerate((centre, pup)):
            parties.append((agreement, party.id, position, RECEIVES, date(2025, 1, 2), f"bench-{party.type.lower()}"))
    return rows, parties


def consents_rows(pl: Plan) -> Iterator[Row]:
    """The NGO's clients agreed in writing that it may receive their identity and referrals."""
    rng = random.Random(SEED + 8)
    p = pl.persons
    for i in range(len(p.id)):
        if p.other[i] != "NGO":
            continue
        centre = pl.ops[p.ops[i]]
        ngo = pl.powiats[centre.powiat].ngo
        given = rng.randrange(D_2024, D_LAST - 10)
        yield (new_uuid(rng), p.id[i], ngo.id, None, "identity referral", "REFERRAL", date.fromordinal(given), None,
               "SIGNED_FORM", date.fromordinal(given), "Zgoda w teczce klienta", centre.id, at(rng, given), None,
               None, 1)  # fmt: skip


@dataclass(slots=True)
class Referrals:
    referrals: list[Row] = field(default_factory=list)
    subjects: list[Row] = field(default_factory=list)
    history: list[Row] = field(default_factory=list)
    outcomes: list[Row] = field(default_factory=list)


def referrals(pl: Plan) -> Referrals:
    """A tenth as many referrals as persons: centre to PUP mostly, PUP to centre, centre to PCPR; one in ten about
    a whole family."""
    rng = random.Random(SEED + 9)
    p, f = pl.persons, pl.families
    out = Referrals()
    weights = [w for _, w, _ in REFERRAL_PATHS]
    n = len(p.id)
    for _ in range(max(1, n // 10)):
        i = rng.randrange(n)
        centre = pl.ops[p.ops[i]]
        powiat = pl.powiats[centre.powiat]
        r = rng.random()
        if r < 0.75:
            sender, receiver, instruments, code_list = centre, powiat.pup, LABOUR_INSTRUMENTS, "LabourMarketInstrument"
        elif r < 0.9:
            sender, receiver, instruments, code_list = powiat.pup, centre, ASSISTANCE_FORMS, "AssistanceForm"
        else:
            sender, receiver, instruments, code_list = centre, powiat.pcpr, ASSISTANCE_FORMS, "AssistanceForm"
        family = p.family[i] if rng.random() < 0.1 else None
        members = [p.id[i]] if family is None else [p.id[j] for j in range(f.start[family], f.start[family] +
                                                                                 f.size[family])]  # fmt: skip
        rid = new_uuid(rng)
        status, _, steps = REFERRAL_PATHS[rng.choices(range(len(REFERRAL_PATHS)), weights)[0]]
        created_day = rng.randrange(D_2025 - 365, D_LAST - 20)
        moment = at(rng, created_day)
        sender_worker, receiver_worker = rng.choice(sender.workers), rng.choice(receiver.workers)
        history: list[Row] = [
            (rid, 0, moment, "create", None, "draft", sender.id, f"worker:{sender_worker}", None, None)
        ]
        previous = "draft"
        for seq, (action, who, to_status) in enumerate(steps, start=1):
            if seq > 1:
                moment += timedelta(days=rng.randrange(1, 9), seconds=rng.randrange(3600))
            institution = {"sender": sender.id, "receiver": receiver.id, "system": None}[who]
            actor = {"sender": f"worker:{sender_worker}", "receiver": f"worker:{receiver_worker}",
                     "system": "system:deadlines"}[who]  # fmt: skip
            reason = "NOT_ELIGIBLE" if action == "reject" else None
            history.append((rid, seq, moment, action, previous, to_status, institution, actor, reason, None))
            previous = to_status
        out.history.extend(history)
        sent = history[1][2] if len(history) > 1 else history[0][2]
        respond_by = sent.date() + timedelta(days=14)
        out.referrals.append((
            rid, sender.id, sender_worker, receiver.id, None, p.id[i] if family is None else None,
            f.id[family] if family is not None else None, "UNEMPLOYMENT" if code_list.startswith("Labour") else
            "POVERTY", code_list, rng.choice(instruments), "Klient gotowy do podjęcia działań; prośba o wsparcie.",
            "urgent" if rng.random() < 0.1 else "routine", respond_by, None, None, None, None, rid, status,
            "NOT_ELIGIBLE" if status == "rejected" else None, None, history[0][2], history[-1][2],
            max(1, len(history) - 1), None,
        ))  # fmt: skip
        out.subjects.extend((rid, person, position) for position, person in enumerate(members))
        if status == "completed":
            out.outcomes.append((rid, members[0], rng.choice(OUTCOME_KINDS), history[-1][2].date(), None))
    return out


@dataclass(slots=True)
class FamilyWork:
    partnerships: list[Row] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    team: list[Row] = field(default_factory=list)
    contracts: list[Row] = field(default_factory=list)
    parties: list[Row] = field(default_factory=list)
    hours: list[Row] = field(default_factory=list)
    benefits: list[Row] = field(default_factory=list)
    outcomes: list[Row] = field(default_factory=list)


def family_work(pl: Plan) -> FamilyWork:
    """A partnership per powiat (PCPR, centres, PUP, NGO; a PCPR worker on its PZKW); contracts for about one family
    in a hundred; hours for one family in ten; benefits for two persons in five; a few outcomes."""
    rng = random.Random(SEED + 10)
    out = FamilyWork()
    p, f = pl.persons, pl.families
    created = at(rng, D_2025 - 200)
    for pw in pl.powiats:
        out.partnerships.append((pw.partnership_id, f"Partnerstwo na rzecz rodzin powiatu {pw.town}", pw.teryt,
                                 created, 1))  # fmt: skip
        for inst in (pw.pcpr, *pw.ops, pw.pup, pw.ngo):
            out.members.append((pw.partnership_id, inst.id))
        out.team.append((pw.partnership_id, "PZKW", pw.pcpr.workers[0], pw.pcpr.id))
    numbers: dict[UUID, int] = {}
    for k in range(len(f.id)):
        start, size = f.start[k], f.size[k]
        centre = pl.ops[p.ops[start]]
        pw = pl.powiats[centre.powiat]
        worker = f"worker:{centre.workers[0]}"
        if rng.random() < 0.01:
            contract = new_uuid(rng)
            numbers[pw.partnership_id] = numbers.get(pw.partnership_id, 0) + 1
            status = rng.choices(["active", "submitted", "approved", "completed"], [0.5, 0.2, 0.15, 0.15])[0]
            adults = [str(p.id[j]) for j in range(start, start + size) if p.role[j] == "PARENT"]
            action = {
                "id": str(new_uuid(rng)),
                "description": "Doradztwo zawodowe i szkolenie",
                "instrument": {"code_list": "LabourMarketInstrument", "code": "TRAINING"},
                "service_id": None,
                "member_ids": adults[:1],
                "responsible": str(pw.pup.id),
                "due": None,
                "status": "PLANNED",
            }
            terms = {"goals": ["Zatrudnienie na otwartym rynku pracy"], "actions": [action]}
            when = at(rng, rng.randrange(D_2025, D_LAST - 30))
            approved = status != "submitted"
            out.contracts.append((
                contract, "TRI_PARTY_FAMILY", pw.partnership_id, f.id[k], None,
                json.dumps([str(centre.id), str(pw.pup.id)]), json.dumps(adults), status, numbers[pw.partnership_id],
                json.dumps(terms, ensure_ascii=False), pw.pcpr.workers[0] if approved else None,
                when + timedelta(days=7) if approved else None, "[]", "[]", "[]", None, centre.id, when,
                when + timedelta(days=7), 2 if approved else 1,
            ))  # fmt: skip
            out.parties.extend([(contract, centre.id), (contract, pw.pup.id)])
        if rng.random() < 0.1:
            for _ in range(rng.randrange(1, 6)):
                day = rng.randrange(D_2025, D_LAST)
                inst = rng.choice((centre, centre, pw.pup, pw.ngo))
                role = WORKER_ROLES.get(inst.type, WORKER_ROLES["OPS"])[0]
                person = p.id[start + rng.randrange(size)] if rng.random() < 0.5 else None
                out.hours.append((new_uuid(rng), inst.id, role, person, None if person else f.id[k],
                                  date.fromordinal(day), rng.choice((50, 100, 150, 200, 300)), None, None, None,
                                  at(rng, day), worker))  # fmt: skip
        for j in range(start, start + size):
            if rng.random() < 0.4:
                day = rng.randrange(D_2025, D_LAST)
                out.benefits.append((new_uuid(rng), centre.id, rng.choice(BENEFIT_BASES), rng.randrange(5_000, 150_000),
                                     date.fromordinal(day), None, None, p.id[j], at(rng, day), worker))  # fmt: skip
            if p.pup[j] and rng.random() < 0.04:
                day = rng.randrange(D_2025, D_LAST)
                out.outcomes.append((new_uuid(rng), pw.pup.id, p.id[j], rng.choice(OUTCOME_KINDS),
                                     date.fromordinal(day), "contract_action", None, None, at(rng, day),
                                     f"worker:{pw.pup.workers[0]}"))  # fmt: skip
    return out


def audit_rows(pl: Plan, refs: Referrals) -> Iterator[Row]:
    """A person's registration, each enrollment, a few reads by their centre, a lookup by the PUP of a shared
    client; each family's creation; each referral's creation and its reading by the receiver."""
    rng = random.Random(SEED + 11)
    p, f = pl.persons, pl.families

    def row(when: datetime, actor: UUID, inst: UUID, action: str, subject_type: str, subject: UUID,
            purpose: str | None = None, categories: str = "", reason: str | None = None) -> Row:  # fmt: skip
        return (new_uuid(rng), when, f"worker:{actor}", actor, inst, action, subject_type, subject,
                f"{rng.getrandbits(64):016x}", purpose, categories, "ALLOW", reason, None, None)  # fmt: skip

    for i in range(len(p.id)):
        centre = pl.ops[p.ops[i]]
        worker = rng.choice(centre.workers)
        when = at(rng, p.since[i])
        yield row(when, worker, centre.id, "CREATE", "person", p.id[i])
        yield row(when, worker, centre.id, "ENROLL", "person", p.id[i])
        for _ in range(rng.randrange(3)):
            yield row(at(rng, rng.randrange(p.since[i], D_LAST + 1)), worker, centre.id, "READ", "person", p.id[i],
                      "FAMILY_COOPERATION", "household,identity,social_assistance_status",
                      "your institution's own client")  # fmt: skip
        if p.pup[i]:
            pup = pl.powiats[centre.powiat].pup
            clerk = rng.choice(pup.workers)
            day = rng.randrange(D_2015, D_LAST)
            yield row(at(rng, day), clerk, pup.id, "ENROLL", "person", p.id[i])
            yield row(at(rng, day), clerk, pup.id, "LOOKUP", "person", p.id[i], "SHARED_CLIENT_CHECK",
                      "labour_market_status,social_assistance_status", "your institution's own records")  # fmt: skip
    for k in range(len(f.id)):
        centre = pl.ops[p.ops[f.start[k]]]
        yield row(at(rng, max(p.since[f.start[k]], f.since[k])), rng.choice(centre.workers), centre.id, "CREATE",
                  "family", f.id[k])  # fmt: skip
    for r in refs.referrals:
        sender_worker = r[2]
        yield row(r[21], sender_worker, r[1], "CREATE", "referral", r[0])


TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "institutions": ("id", "type", "name", "regon", "nip", "teryt", "street", "postal_code", "city", "email", "phone",
                     "created_at", "updated_at", "version"),
    "workers": ("id", "institution_id", "first_name", "last_name", "role", "email", "phone", "idp_subject", "active",
                "created_at"),
    "persons": ("id", "first_name", "last_name", "birth_date", "sex", "pesel_hash", "pesel_sealed", "id_doc_kind",
                "id_doc_number", "id_doc_country", "created_at", "updated_at", "version", "merged_into"),
    "enrollments": ("id", "person_id", "institution_id", "status", "since", "until", "worker_id", "external_ref",
                    "created_at", "updated_at", "version"),
    "families": ("id", "name", "teryt", "created_by", "created_at", "updated_at", "version"),
    "family_memberships": ("id", "family_id", "person_id", "role", "since", "recorded_at", "until", "end_reason"),
    "agreements": ("id", "title", "purposes", "legal_basis", "valid_from", "valid_to", "document_ref", "created_by",
                   "created_at", "updated_at", "ended_at", "end_reason", "version"),
    "agreement_parties": ("agreement_id", "institution_id", "position", "receives", "signed_on", "signed_by"),
    "consents": ("id", "person_id", "grantee_institution_id", "grantee_kind", "categories", "purpose", "valid_from",
                 "valid_to", "method", "given_on", "document_ref", "recorded_by", "created_at", "withdrawn_at",
                 "withdrawn_by", "version"),
    "referrals": ("id", "sender_id", "sender_worker_id", "receiver_id", "service_id", "person_id", "family_id",
                  "reason", "instrument_list", "instrument_code", "justification", "priority", "respond_by", "due",
                  "contract_action_ref", "forwarded_from", "forwarded_to", "chain_id", "status", "rejection_reason",
                  "failure_reason", "created_at", "updated_at", "version", "receiver_copy_purged_at"),
    "referral_subjects": ("referral_id", "person_id", "position"),
    "referral_history": ("referral_id", "seq", "at", "action", "from_status", "to_status", "institution_id", "actor",
                         "reason", "note"),
    "referral_outcomes": ("referral_id", "person_id", "kind", "on", "note"),
    "partnerships": ("id", "name", "teryt", "created_at", "version"),
    "partnership_members": ("partnership_id", "institution_id"),
    "partnership_team_members": ("partnership_id", "team", "worker_id", "institution_id"),
    "contracts": ("id", "kind", "partnership_id", "family_id", "person_id", "institutions", "signing_members",
                  "status", "number", "terms", "approved_by", "approved_at", "signatures", "reviews", "versions",
                  "termination_reason", "created_by", "created_at", "updated_at", "version"),
    "contract_parties": ("contract_id", "institution_id"),
    "specialist_hours": ("id", "institution_id", "role", "person_id", "family_id", "on", "centihours",
                         "contract_action_id", "corrects", "superseded_by", "recorded_at", "actor"),
    "benefits": ("id", "institution_id", "legal_basis", "grosze", "paid_on", "period_from", "period_to", "person_id",
                 "recorded_at", "actor"),
    "outcomes": ("id", "institution_id", "person_id", "kind", "on", "source_type", "source_id", "note",
                 "recorded_at", "actor"),
    "audit_events": ("id", "occurred_at", "actor", "actor_worker_id", "institution_id", "action", "subject_type",
                     "subject_id", "request_id", "purpose", "categories", "decision", "reason", "chain_position",
                     "chain_hash"),
}  # fmt: skip
