"""Demo data for a newcomer: one county (powiat bartoszycki) with its OPS, PUP, PCPR and an NGO,
workers, API clients, and the Nowak family served by both OPS and PUP. Every identifier is
fictitious but valid. Seeding twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from app.bootstrap import Container
from app.demo_family_work import seed_family_work
from app.demo_sharing import seed_agreement, seed_consent
from app.domain.caller import ALL_SCOPES, Caller
from app.domain.ids import InstitutionId, PersonId, WorkerId
from app.domain.services import families, institutions, persons
from app.domain.values import Address, Contact, IdentityDocument


@dataclass(frozen=True, slots=True)
class DemoInstitution:
    key: str
    id: InstitutionId
    data: institutions.InstitutionData
    scopes: frozenset[str]


_CLIENT_SCOPES = frozenset(
    [
        "persons:read",
        "persons:write",
        "families:read",
        "families:write",
        "contracts:read",
        "contracts:write",
        "referrals:read",
        "referrals:write",
        "deliveries:write",
        "reports:read",
        # The demo token stands for the whole office, its data-protection officer and its director included.
        "audit:read",
        "agreements:write",
    ]
)

DEMO = [
    DemoInstitution(
        "ops",
        InstitutionId(UUID("00000000-0000-4000-8000-000000000001")),
        institutions.InstitutionData(
            type="MOPS",
            name="Miejski Ośrodek Pomocy Społecznej w Bartoszycach",
            teryt="2801011",
            regon="519384272",
            nip="2442725095",
            address=Address(street="ul. Kętrzyńska 1", postal_code="11-200", city="Bartoszyce"),
            contact=Contact(email="sekretariat@mops.example.pl", phone="+48 89 000 00 01"),
        ),
        _CLIENT_SCOPES,
    ),
    DemoInstitution(
        "pup",
        InstitutionId(UUID("00000000-0000-4000-8000-000000000002")),
        institutions.InstitutionData(
            type="PUP",
            name="Powiatowy Urząd Pracy w Bartoszycach",
            teryt="2801",
            regon="270031617",
            nip="7111780022",
            address=Address(street="ul. Limanowskiego 9", postal_code="11-200", city="Bartoszyce"),
            contact=Contact(email="kancelaria@pup.example.pl", phone="+48 89 000 00 02"),
        ),
        _CLIENT_SCOPES,
    ),
    DemoInstitution(
        "ngo",
        InstitutionId(UUID("00000000-0000-4000-8000-000000000003")),
        institutions.InstitutionData(
            type="NGO",
            name="Stowarzyszenie Razem dla Rodziny",
            teryt="2801011",
            regon="111523692",
            nip="9200967533",
            address=Address(street="ul. Bohaterów Monte Cassino 5", postal_code="11-200", city="Bartoszyce"),
            contact=Contact(email="biuro@razem.example.org"),
        ),
        frozenset({"persons:read", "persons:write", "families:read", "referrals:read", "referrals:write"}),
    ),
    DemoInstitution(
        "pcpr",
        InstitutionId(UUID("00000000-0000-4000-8000-000000000004")),
        institutions.InstitutionData(
            type="PCPR",
            name="Powiatowe Centrum Pomocy Rodzinie w Bartoszycach",
            teryt="2801",
            regon="520391021",
            nip="3738782878",
            address=Address(street="ul. Grunwaldzka 2", postal_code="11-200", city="Bartoszyce"),
            contact=Contact(email="pcpr@pcpr.example.pl"),
        ),
        frozenset(ALL_SCOPES),
    ),
]

_WORKERS = {
    "ops": [("Anna", "Kowalska", "SOCIAL_WORKER"), ("Marta", "Wiśniewska", "FAMILY_ASSISTANT")],
    "pup": [("Piotr", "Zieliński", "CAREER_ADVISER"), ("Ewa", "Lewandowska", "JOB_BROKER")],
    "ngo": [("Tomasz", "Wójcik", "PSYCHOLOGIST")],
    "pcpr": [("Katarzyna", "Kamińska", "OTHER")],
}


def by_key(key: str) -> DemoInstitution:
    for demo in DEMO:
        if demo.key == key:
            return demo
    raise KeyError(f"no demo institution '{key}': choose one of {', '.join(d.key for d in DEMO)}")


def _operator(institution_id: InstitutionId, worker_id: WorkerId | None = None) -> Caller:
    return Caller(
        subject="demo-seed",
        institution_id=institution_id,
        scopes=frozenset(ALL_SCOPES),
        roles=frozenset(),
        worker_id=worker_id,
        request_id="seed-demo",
    )


async def seed(app: Container) -> bool:
    """Loads the demo county; False when it was there already."""
    ctx = app.ctx
    async with ctx.uow() as uow:
        if await uow.institutions.get(DEMO[0].id) is not None:
            return False
    workers: dict[str, list[WorkerId]] = {}
    for demo in DEMO:
        await institutions.register_institution(ctx, None, demo.data, institution_id=demo.id)
        workers[demo.key] = [
            (
                await institutions.add_worker(
                    ctx,
                    None,
                    institutions.NewWorker(
                        institution_id=demo.id,
                        first_name=first,
                        last_name=last,
                        role=role,
                        contact=Contact(
                            email=f"{first.lower()}.{last.lower()}@example.pl".replace("ś", "s").replace("ń", "n")
                        ),
                    ),
                )
            ).id
            for first, last, role in _WORKERS[demo.key]
        ]
    ops, pup = by_key("ops"), by_key("pup")
    await seed_agreement(ctx, [_operator(ops.id), _operator(pup.id), _operator(by_key("pcpr").id)])
    as_ops, as_pup = _operator(ops.id, workers["ops"][0]), _operator(pup.id, workers["pup"][0])
    nowak = [
        ("Jan", "Nowak", "85031204311", "PARENT", "BENEFIT_RECIPIENT", "LONG_TERM_UNEMPLOYED"),
        ("Maria", "Nowak", "87082405628", "PARENT", "BENEFIT_RECIPIENT", "UNEMPLOYED"),
        ("Kacper", "Nowak", "12250707819", "CHILD", "BENEFIT_RECIPIENT", None),
        ("Zofia", "Nowak", "14271909926", "CHILD", "BENEFIT_RECIPIENT", None),
        ("Antoni", "Nowak", "18303003431", "CHILD", "BENEFIT_RECIPIENT", None),
    ]
    members: list[families.NewMember] = []
    for first, last, pesel, role, ops_status, pup_status in nowak:
        registered = await persons.register_person(
            ctx,
            as_ops,
            persons.RegisterPerson(
                first_name=first,
                last_name=last,
                pesel=pesel,
                enrollment=persons.EnrollmentDetails(
                    status=ops_status, since=date(2025, 9, 1), worker_id=workers["ops"][0]
                ),
            ),
        )
        members.append(
            families.NewMember(person_id=PersonId(registered.view.person.id), role=role, since=date(2012, 5, 7))
        )
        if pup_status:
            await persons.register_person(
                ctx,
                as_pup,
                persons.RegisterPerson(
                    first_name=first,
                    last_name=last,
                    pesel=pesel,
                    enrollment=persons.EnrollmentDetails(
                        status=pup_status, since=date(2024, 2, 1), worker_id=workers["pup"][0]
                    ),
                ),
            )
    await seed_consent(ctx, _operator(ops.id), members[1].person_id, by_key("ngo").id)
    nowak_family = await families.create_family(
        ctx, as_ops, families.CreateFamily(name="Rodzina Nowaków", teryt="2801011", members=members)
    )
    # A person without PESEL: a foreigner registered with a passport.
    await persons.register_person(
        ctx,
        as_ops,
        persons.RegisterPerson(
            first_name="Olena",
            last_name="Shevchenko",
            birth_date=date(1990, 4, 2),
            identity_document=IdentityDocument(kind="PASSPORT", number="FA123456", country="UA"),
            enrollment=persons.EnrollmentDetails(status="SOCIAL_WORK_CLIENT", worker_id=workers["ops"][1]),
        ),
    )
    await seed_family_work(ctx, {d.key: d.id for d in DEMO}, workers, nowak_family)
    return True


def demo_token(app: Container, key: str, ttl: int = 12 * 3600) -> str:
    demo = by_key(key)
    if app.issuer is None:
        raise RuntimeError("the local token issuer is disabled in settings")
    return app.issuer.issue(subject=f"demo-{key}", institution_id=demo.id, scopes=demo.scopes, ttl=ttl).access_token
