"""The authorization matrix as data: every route and GraphQL field that carries personal data, the callers that
knock on it, and the answer each must get (issue 6, "Tests that must exist").

One table, keyed by (HTTP method, path template) exactly as the routes declare them, and one for GraphQL keyed by
(root type, field). A route or a top-level field without a row fails `test_authorization_matrix.py`; a route that
carries no personal data has a row too, saying why.

The callers (`Who`) are fixed, the world they meet is built once per test (`build_world`):

- person A (the subject of the matrix), enrolled at the MOPS (`own`) with a worker; person B, A's child, enrolled
  at the MOPS and also at every other institution except the teams: so each partner sees the family through its own
  client B, and the access policy alone decides whether it sees A in it;
- family F, kept by the MOPS: A (PARENT) and B (CHILD);
- `partner` (the PUP) works under an agreement in force for every category and purpose; `expired` (a PCPR) has a
  signed agreement with the MOPS whose validity ended in 2021; `no_agreement` (the GOPS of another gmina) has none;
- `ngo` holds A's consents (household and status for FAMILY_COOPERATION, the envelope for REFERRAL); `ngo_withdrawn`
  held the same, withdrawn after a referral about A was sent to it;
- `zi` is the interdisciplinary team of A's gmina and keeps a Niebieska Karta record about A; `zi_other` is the
  team of another gmina; both call with the role `interdisciplinary_team`;
- referrals about A from the MOPS to the PUP (accepted), to the NGO and to the withdrawn NGO (sent); a partnership,
  a draft tri-party contract on F (parties MOPS and PUP), a diagnosis, hours, a benefit and an outcome for A.

Expected answers follow /work/shared/api.md: 401 without a token, 403 for a missing scope, 404 (not 403) for a record
the caller may not see, 200/201 where allowed. An answer that must not carry A's data (`sees=False`, and every
error) is searched for A's surname and PESEL (or a row's own marker).

To add a row: put `("METHOD", "/v1/path/{template}"): Personal(why=..., cases=(Case(...),))` in `REST`, with a
`call` building the request from the `Scene` (world ids, a prepared target, the caller) and `expect=answers(...)`
(the default for every caller, then the exceptions by caller name; `wrong_scope` 403 and `no_token` 401 are filled
in). A write that changes what it acts on gets a `prepare` building a fresh target; the runner prepares it again
after every 2xx. A route without personal data: `NotPersonal("why")`. A cell the app answers wrongly: `bug(expected,
reason)`, reported in the reply and listed by the xfail test.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

import httpx

from app.bootstrap import Container
from app.domain.caller import ALL_SCOPES
from app.domain.ids import ConsentId, InstitutionId, PersonId, WorkerId
from app.domain.partnerships import TeamMember
from app.domain.services import family_work as family_use
from app.domain.services import institutions as institution_use
from app.domain.services import sharing
from tests.builders import make_pesel
from tests.sharing_support import signed_agreement, system_caller

TEAM_ROLE = frozenset({"interdisciplinary_team"})
DIAGNOSIS_MARKER = "POTRZEBA-DIAGNOZA-MOPS-7Q"
CONTRACT_MARKER = "CEL-KONTRAKTU-MOPS-7Q"
BLUE_CARD_MARKER = "NOTATKA-NK-ZESPOL-7Q"
REFERRAL_SUBJECT = "Skierka-Matrycowa"
FAMILY_NAME = "Gospodarstwo domowe przy ul. Lipowej"
STALE = '"999"'


class Who(StrEnum):
    """The callers of every row, in the order the runner calls them."""

    OWN = "own"  # the MOPS: enrolls A, keeps the family
    PARTNER = "partner"  # the PUP: an agreement in force for every category and purpose
    EXPIRED = "expired"  # a PCPR: its agreement with the MOPS ended on 2021-12-31
    NO_AGREEMENT = "no_agreement"  # the GOPS of another gmina
    NGO = "ngo"  # A's consents in force
    NGO_WITHDRAWN = "ngo_withdrawn"  # A's consents withdrawn
    ZI = "zi"  # the interdisciplinary team of A's gmina, with the role
    ZI_OTHER = "zi_other"  # the team of another gmina, with the role
    WRONG_SCOPE = "wrong_scope"  # a MOPS token with `directory:write` only
    NO_TOKEN = "no_token"


INSTITUTIONS = (Who.OWN, Who.PARTNER, Who.EXPIRED, Who.NO_AGREEMENT, Who.NGO, Who.NGO_WITHDRAWN)
TEAMS = (Who.ZI, Who.ZI_OTHER)
SERVING_B = (Who.PARTNER, Who.EXPIRED, Who.NO_AGREEMENT, Who.NGO, Who.NGO_WITHDRAWN)


class Party(Protocol):
    """An institution of the test with a worker, minting its tokens (tests.conftest.Party is one)."""

    @property
    def id(self) -> InstitutionId: ...

    @property
    def worker_id(self) -> WorkerId: ...

    def token(self, *scopes: str, roles: frozenset[str] = ...) -> str: ...


@dataclass(frozen=True, slots=True)
class Institution:
    """An institution this module registers itself (the expired partner, the second NGO)."""

    id: InstitutionId
    worker_id: WorkerId
    container: Container

    def token(self, *scopes: str, roles: frozenset[str] = frozenset()) -> str:
        assert self.container.issuer is not None
        return self.container.issuer.issue(
            subject=f"test-{self.id}",
            institution_id=self.id,
            scopes=frozenset(scopes) if scopes else frozenset(ALL_SCOPES),
            roles=roles,
            ttl=None,
        ).access_token


# --- expectations --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expect:
    """The status, and for a 2xx whether the answer carries the protected data (None: not asked)."""

    status: int
    sees: bool | None = None
    bug: str | None = None  # the app answers otherwise today: a reported bug (see the xfail test)

    def __str__(self) -> str:
        seen = {True: " with the data", False: " without the data", None: ""}[self.sees]
        return f"{self.status}{seen}"


SEES = Expect(200, sees=True)
BLIND = Expect(200, sees=False)
OK = Expect(200)
CREATED = Expect(201)

Cell = Expect | int


def _cell(value: Cell) -> Expect:
    return value if isinstance(value, Expect) else Expect(value)


def bug(expected: Cell, reason: str) -> Expect:
    """The correct answer for a cell the app gets wrong today; `reason` names the bug reported."""
    return replace(_cell(expected), bug=reason)


def answers(others: Cell, **cells: Cell) -> dict[Who, Expect]:
    """`others` for every caller not named; `wrong_scope` 403 and `no_token` 401 unless named."""
    table = {who: _cell(others) for who in Who}
    table[Who.WRONG_SCOPE], table[Who.NO_TOKEN] = Expect(403), Expect(401)
    for name, value in cells.items():
        table[Who(name)] = _cell(value)
    return table


# --- the world -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Household:
    a: str
    a_pesel: str
    a_last_name: str
    a_enrollment: str  # the MOPS's enrollment of A
    b: str
    family: str
    consents: Mapping[str, str]  # ngo_family, ngo_referral, ngo_withdrawn_family, ngo_withdrawn_referral


@dataclass(frozen=True, slots=True)
class World:
    main: Household
    parties: Mapping[Who, Party]
    referral_to_partner: str
    referral_to_ngo: str
    referral_to_ngo_withdrawn: str
    partnership: str
    contract: str
    contract_action: str
    hours: str
    blue_card: str
    referral_subject: str  # S: a MOPS client with the NGO's REFERRAL consent, the subject of scratch referrals

    def id(self, who: Who) -> str:
        return str(self.parties[who].id)


@dataclass(frozen=True, slots=True)
class Target:
    """What a write acts on: the world's own records, or scratch ones a `prepare` made for the row."""

    household: Household
    ids: Mapping[str, str] = field(default_factory=dict)
    version: int = 1


@dataclass(frozen=True, slots=True)
class Scene:
    world: World
    target: Target
    who: Who

    @property
    def a(self) -> str:
        return self.target.household.a

    @property
    def household(self) -> Household:
        return self.target.household


@dataclass(frozen=True, slots=True)
class Call:
    path: str
    json: Any = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, Any] | None = None  # a multipart upload, with `data` for its other fields
    data: Mapping[str, str] | None = None


class Harness:
    """The client, the callers' tokens and the world; `prepare` functions build scratch targets through it."""

    def __init__(self, client: httpx.AsyncClient, container: Container, parties: Mapping[Who, Party]) -> None:
        self.client = client
        self.container = container
        self.parties = parties
        self._tokens: dict[Who, dict[str, str]] = {}
        self._serial = itertools.count(1)
        self._world: World | None = None
        self.cache: dict[str, Household] = {}

    @property
    def world(self) -> World:
        assert self._world is not None, "build_world() first"
        return self._world

    def auth(self, who: Who) -> dict[str, str]:
        if who not in self._tokens:
            party = self.parties[who]
            if who is Who.NO_TOKEN:
                self._tokens[who] = {}
            elif who is Who.WRONG_SCOPE:
                self._tokens[who] = {"Authorization": f"Bearer {party.token('directory:write')}"}
            elif who in TEAMS:
                self._tokens[who] = {"Authorization": f"Bearer {party.token(roles=TEAM_ROLE)}"}
            else:
                self._tokens[who] = {"Authorization": f"Bearer {party.token()}"}
        return self._tokens[who]

    async def send(self, who: Who, method: str, call: Call) -> httpx.Response:
        return await self.client.request(
            method,
            call.path,
            json=call.json,
            params=call.params,
            headers={**self.auth(who), **call.headers},
            files=call.files,
            data=call.data,
        )

    async def ok(self, who: Who, method: str, path: str, body: Any = None, **headers: str) -> dict[str, Any]:
        """A step of building the world: it must succeed."""
        response = await self.send(who, method, Call(path, json=body, headers=headers))
        assert response.status_code in (200, 201), f"{method} {path} as {who}: {response.text}"
        found: dict[str, Any] = response.json()
        return found

    def serial(self) -> int:
        return next(self._serial)

    # -- building blocks --

    async def enroll(self, who: Who, body: dict[str, Any]) -> str:
        status = {"PUP": "UNEMPLOYED", "NGO": "PARTICIPANT"}.get(KINDS[who], "BENEFIT_RECIPIENT")
        person = await self.ok(who, "POST", "/v1/persons", body | {"enrollment": {"status": status}})
        return str(person["id"])

    async def consent(
        self, person: str, grantee: Who, categories: tuple[str, ...], purpose: str, withdrawn: bool = False
    ) -> str:
        """A's consent as the MOPS records it from the signed form."""
        consent = await sharing.record_consent(
            self.container.ctx,
            system_caller(self.parties[Who.OWN].id),
            sharing.NewConsent(
                person_id=PersonId(UUID(person)),
                grantee_institution_id=self.parties[grantee].id,
                grantee_kind=None,
                categories=categories,
                purpose=purpose,
                valid_from=None,
                valid_to=None,
                method="SIGNED_FORM",
                given_on=date(2024, 1, 1),
                document_ref="zgoda w aktach",
            ),
        )
        if withdrawn:
            await self.withdraw(person, str(consent.id))
        return str(consent.id)

    async def withdraw(self, person: str, consent: str) -> None:
        await sharing.withdraw_consent(
            self.container.ctx,
            system_caller(self.parties[Who.OWN].id),
            PersonId(UUID(person)),
            ConsentId(UUID(consent)),
            1,
        )

    async def household(self, withdraw: bool = True) -> Household:
        """A (a MOPS client) and B (a client of every institution) in a family the MOPS keeps, with A's consents."""
        n = self.serial()
        last_name = f"Wierzbicka-{_letters(n)}"
        a_pesel, b_pesel = make_pesel("870824", f"{n:03d}2"), make_pesel("122507", f"{n:03d}1")
        ops = self.parties[Who.OWN]
        a = await self.ok(
            Who.OWN,
            "POST",
            "/v1/persons",
            {
                "pesel": a_pesel,
                "first_name": "Aleksandra",
                "last_name": last_name,
                "enrollment": {"status": "BENEFIT_RECIPIENT", "worker_id": str(ops.worker_id)},
            },
        )
        b_body = {"pesel": b_pesel, "first_name": "Bartosz", "last_name": "Nowicki"}
        b = await self.enroll(Who.OWN, b_body)
        await asyncio.gather(*(self.enroll(who, b_body) for who in SERVING_B))
        family = await self.ok(
            Who.OWN,
            "POST",
            "/v1/families",
            {
                "name": FAMILY_NAME,
                "members": [{"person_id": a["id"], "role": "PARENT"}, {"person_id": b, "role": "CHILD"}],
            },
        )
        family_categories = ("identity", "contact", "household", "social_assistance_status")
        consents: dict[str, str] = {}
        for grantee in (Who.NGO, Who.NGO_WITHDRAWN):
            gone = withdraw and grantee is Who.NGO_WITHDRAWN
            consents[f"{grantee}_family"] = await self.consent(
                a["id"], grantee, family_categories, "FAMILY_COOPERATION", withdrawn=gone
            )
            consents[f"{grantee}_referral"] = await self.consent(
                a["id"], grantee, ("identity", "referral"), "REFERRAL", withdrawn=gone
            )
        return Household(
            a=a["id"],
            a_pesel=a_pesel,
            a_last_name=last_name,
            a_enrollment=a["enrollments"][0]["id"],
            b=b,
            family=family["id"],
            consents=consents,
        )

    async def referral(self, receiver: Who, person: str, *, send: bool = True) -> dict[str, Any]:
        return await self.ok(
            Who.OWN,
            "POST",
            "/v1/referrals",
            {
                "receiver_id": str(self.parties[receiver].id),
                "person_id": person,
                "reason": "UNEMPLOYMENT",
                "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
                "justification": "Prosi o doradztwo zawodowe.",
                "send": send,
            },
        )

    async def act(self, who: Who, referral: dict[str, Any], action: str, body: Any = None) -> dict[str, Any]:
        return await self.ok(
            who,
            "POST",
            f"/v1/referrals/{referral['id']}/{action}",
            body if body is not None else {},
            **{"If-Match": f'"{referral["version"]}"'},
        )

    async def etag(self, who: Who, path: str) -> int:
        response = await self.send(who, "GET", Call(path))
        assert response.status_code == 200, response.text
        return int(response.headers["etag"].strip('"'))


KINDS = {
    Who.OWN: "MOPS",
    Who.PARTNER: "PUP",
    Who.EXPIRED: "PCPR",
    Who.NO_AGREEMENT: "GOPS",
    Who.NGO: "NGO",
    Who.NGO_WITHDRAWN: "NGO",
    Who.ZI: "ZI",
    Who.ZI_OTHER: "ZI",
    Who.WRONG_SCOPE: "MOPS",
    Who.NO_TOKEN: "MOPS",
}


def _letters(n: int) -> str:
    return "".join(chr(ord("A") + (n // 26**i) % 26) for i in (2, 1, 0))


async def new_institution(container: Container, kind: str, name: str, teryt: str) -> Institution:
    institution = await institution_use.register_institution(
        container.ctx, None, institution_use.InstitutionData(type=kind, name=name, teryt=teryt)
    )
    worker = await institution_use.add_worker(
        container.ctx,
        None,
        institution_use.NewWorker(institution_id=institution.id, first_name="Jan", last_name="Kowal", role="OTHER"),
    )
    return Institution(id=institution.id, worker_id=worker.id, container=container)


async def expired_agreement(container: Container, *parties: InstitutionId) -> None:
    """Signed by both, for every category and purpose, valid 2020-2021 only."""
    await signed_agreement(container, *parties, valid_to=date(2021, 12, 31))


async def build_world(h: Harness) -> World:
    pup = h.parties[Who.PARTNER]
    main = await h.household(withdraw=False)
    to_partner = await h.referral(Who.PARTNER, main.a)
    to_partner = await h.act(Who.PARTNER, to_partner, "receive")
    to_partner = await h.act(Who.PARTNER, to_partner, "accept")
    to_ngo = await h.referral(Who.NGO, main.a)
    to_ngo_withdrawn = await h.referral(Who.NGO_WITHDRAWN, main.a)
    for kind in ("family", "referral"):
        await h.withdraw(main.a, main.consents[f"{Who.NGO_WITHDRAWN}_{kind}"])
    subject = await h.enroll(
        Who.OWN, {"first_name": "Sabina", "last_name": REFERRAL_SUBJECT, "birth_date": "1990-02-03"}
    )
    await h.consent(subject, Who.NGO, ("identity", "referral"), "REFERRAL")
    partnership = await family_use.create_partnership(
        h.container.ctx,
        None,
        family_use.NewPartnership(
            name="Partnerstwo Powiatu Bartoszyckiego",
            teryt="2801",
            members=[h.parties[w].id for w in (*INSTITUTIONS, *TEAMS)],
            coordinating_team=[TeamMember(worker_id=pup.worker_id, institution_id=pup.id)],
        ),
    )
    contract = await h.ok(Who.OWN, "POST", "/v1/contracts", contract_body(h.parties, main, str(partnership.id)))
    await h.ok(
        Who.OWN,
        "POST",
        f"/v1/families/{main.family}/diagnoses",
        {"diagnosed_on": "2025-01-10", "areas": [{"area": "HEALTH", "urgent_needs": DIAGNOSIS_MARKER}]},
    )
    hours = await h.ok(Who.OWN, "POST", "/v1/deliveries", hours_body(main.a))
    await h.ok(Who.OWN, "POST", "/v1/benefits", benefit_body(main.a))
    await h.ok(Who.OWN, "POST", "/v1/outcomes", outcome_body(main.a))
    blue_card = await h.ok(
        Who.ZI,
        "POST",
        "/v1/restricted-records",
        {"form": "NK_A", "procedure_date": "2025-01-15", "person_id": main.a, "note": BLUE_CARD_MARKER},
    )
    h._world = World(
        main=main,
        parties=h.parties,
        referral_to_partner=to_partner["id"],
        referral_to_ngo=to_ngo["id"],
        referral_to_ngo_withdrawn=to_ngo_withdrawn["id"],
        partnership=str(partnership.id),
        contract=contract["id"],
        contract_action=contract["terms"]["actions"][0]["id"],
        hours=hours["id"],
        blue_card=blue_card["id"],
        referral_subject=subject,
    )
    await h.container.relay.run_once()  # the referrals' events into the feed
    return h.world


def contract_body(world: World | Mapping[Who, Party], household: Household, partnership: str = "") -> dict[str, Any]:
    """A draft tri-party contract on the household's family: parties MOPS and PUP, A signs."""
    parties = world.parties if isinstance(world, World) else world
    own, partner = str(parties[Who.OWN].id), str(parties[Who.PARTNER].id)
    return {
        "kind": "TRI_PARTY_FAMILY",
        "partnership_id": world.partnership if isinstance(world, World) else partnership,
        "family_id": household.family,
        "institutions": [own, partner],
        "signing_members": [household.a],
        "terms": {
            "goals": [CONTRACT_MARKER],
            "actions": [
                {
                    "description": "Doradztwo zawodowe",
                    "member_ids": [household.a],
                    "responsible": partner,
                    "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
                }
            ],
        },
    }


def hours_body(person: str) -> dict[str, Any]:
    return {"role": "SOCIAL_WORKER", "person_id": person, "on": "2025-01-10", "hours": "2.00"}


def benefit_body(person: str) -> dict[str, Any]:
    return {"legal_basis": "SOCIAL_ASSISTANCE_ACT", "amount": "612.50", "paid_on": "2025-01-10", "person_id": person}


def outcome_body(person: str) -> dict[str, Any]:
    return {"person_id": person, "kind": "TRAINING_COMPLETED", "on": "2025-01-10"}


def referral_body(scene: Scene, receiver: Who = Who.PARTNER) -> dict[str, Any]:
    return {
        "receiver_id": scene.world.id(receiver),
        "person_id": scene.a,
        "reason": "UNEMPLOYMENT",
        "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
        "justification": "Prosi o doradztwo zawodowe.",
        "send": True,
    }


# --- probes: does an answer carry the protected data? ---------------------------------------------------------------

Probe = Callable[[Scene, httpx.Response], bool]
Check = Callable[[Scene, httpx.Response], str | None]
Prepare = Callable[[Harness], Awaitable[Target]]


def person_a(scene: Scene, response: httpx.Response) -> bool:
    """A's surname or PESEL anywhere in the answer."""
    return scene.household.a_last_name in response.text or scene.household.a_pesel in response.text


def person_a_or_id(scene: Scene, response: httpx.Response) -> bool:
    """For households: A's membership shows by A's id even with the names left out."""
    return person_a(scene, response) or scene.a in response.text


def text(*markers: str) -> Probe:
    def probe(scene: Scene, response: httpx.Response) -> bool:
        return any(m in response.text for m in markers)

    return probe


def world_id(pick: Callable[[World], str]) -> Probe:
    def probe(scene: Scene, response: httpx.Response) -> bool:
        return pick(scene.world) in response.text

    return probe


def items_of(who: Who, *sections: str) -> Probe:
    """Items that institution recorded, in the answer's lists (audit records, delivery records)."""

    def probe(scene: Scene, response: httpx.Response) -> bool:
        body = response.json()
        found = [item for section in sections or ("items",) for item in body[section]]
        return any(item["institution_id"] == scene.world.id(who) for item in found)

    return probe


def served_elsewhere(scene: Scene, response: httpx.Response) -> bool:
    served: list[Any] = response.json()["served_elsewhere"]
    return bool(served)


# --- the rows ------------------------------------------------------------------------------------------------------


def http_status(response: httpx.Response) -> int:
    return response.status_code


def graphql_status(response: httpx.Response) -> int:
    """The HTTP status, or for a GraphQL answer the status of its first error (200 when there is none)."""
    if response.status_code != 200:
        return response.status_code
    errors = response.json().get("errors") or []
    return int(errors[0].get("extensions", {}).get("status", 500)) if errors else 200


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    call: Callable[[Scene], Call]
    expect: Mapping[Who, Expect]
    prepare: Prepare | None = None
    probe: Probe = person_a
    check: Check | None = None  # further assertions on an answer that has the expected status
    refresh: bool | None = None  # prepare again after a 2xx; by default for every method but GET
    status: Callable[[httpx.Response], int] = http_status


@dataclass(frozen=True, slots=True)
class Personal:
    why: str
    cases: Sequence[Case]


@dataclass(frozen=True, slots=True)
class NotPersonal:
    why: str


@dataclass(frozen=True, slots=True)
class ThroughGraphQL:
    why: str


Row = Personal | NotPersonal | ThroughGraphQL


def on_world(pick: Callable[[World], str], who: Who = Who.OWN) -> Prepare:
    """The world's own record as it is now: its ETag read by `who`."""

    async def prepare(h: Harness) -> Target:
        return Target(h.world.main, version=await h.etag(who, pick(h.world)))

    return prepare


async def scratch_household(h: Harness) -> Target:
    return Target(await h.household())


def household_member(key: str) -> Prepare:
    """A's current membership in a scratch household kept for the row (A joins again after leaving)."""

    async def prepare(h: Harness) -> Target:
        household: Household = h.cache.get(key) or await h.household()
        h.cache[key] = household
        family = await h.ok(Who.OWN, "GET", f"/v1/families/{household.family}")
        current = [m for m in family["members"] if m["person"]["id"] == household.a and m["current"]]
        if not current:
            family = await h.ok(
                Who.OWN,
                "POST",
                f"/v1/families/{household.family}/members",
                {"person_id": household.a, "role": "PARENT"},
                **{"If-Match": f'"{family["version"]}"'},
            )
            current = [m for m in family["members"] if m["person"]["id"] == household.a and m["current"]]
        membership = current[0]
        other_role = "GUARDIAN" if membership["role"] == "PARENT" else "PARENT"
        return Target(
            household, ids={"membership": membership["membership_id"], "role": other_role}, version=family["version"]
        )

    return prepare


async def new_client_for_the_family(h: Harness) -> Target:
    n = h.serial()
    person = await h.enroll(
        Who.OWN, {"first_name": "Cezary", "last_name": f"Nowy-{_letters(n)}", "birth_date": "2015-05-05"}
    )
    version = await h.etag(Who.OWN, f"/v1/families/{h.world.main.family}")
    return Target(h.world.main, ids={"person": person}, version=version)


def referral_in(status: str, receiver: Who = Who.PARTNER) -> Prepare:
    """A scratch referral from the MOPS about S, brought to `status` by its receiver."""
    steps = {
        "draft": (),
        "sent": (),
        "received": ("receive",),
        "accepted": ("receive", "accept"),
        "in_progress": ("receive", "accept", "start"),
        "on_hold": ("receive", "accept", "start", "hold"),
    }[status]

    async def prepare(h: Harness) -> Target:
        referral = await h.referral(receiver, h.world.referral_subject, send=status != "draft")
        for action in steps:
            referral = await h.act(receiver, referral, action)
        return Target(h.world.main, ids={"referral": referral["id"]}, version=referral["version"])

    return prepare


async def draft_contract(h: Harness) -> Target:
    contract = await h.ok(Who.OWN, "POST", "/v1/contracts", contract_body(h.world, h.world.main))
    return Target(h.world.main, ids={"contract": contract["id"]}, version=contract["version"])


async def new_hours(h: Harness) -> Target:
    hours = await h.ok(Who.OWN, "POST", "/v1/deliveries", hours_body(h.world.main.a))
    return Target(h.world.main, ids={"hours": hours["id"]})


async def new_consent(h: Harness) -> Target:
    consent = await h.consent(h.world.main.a, Who.NGO, ("contact",), "MONITORING")
    return Target(h.world.main, ids={"consent": consent})


async def enrollment_of_a(h: Harness) -> Target:
    person = await h.ok(Who.OWN, "GET", f"/v1/persons/{h.world.main.a}")
    [enrollment] = person["enrollments"]
    return Target(h.world.main, version=enrollment["version"])


async def scratch_merge(h: Harness) -> Target:
    """Two records of one person registered twice by the MOPS (no PESEL, no document), merged by the MOPS."""
    body = {"first_name": "Dorota", "last_name": f"Zdublowana-{_letters(h.serial())}", "birth_date": "1980-01-01"}
    kept, merged = await h.enroll(Who.OWN, body), await h.enroll(Who.OWN, body)
    merge = await h.ok(
        Who.OWN,
        "POST",
        "/v1/person-merges",
        {"kept_person_id": kept, "merged_person_id": merged, "reason": "ta sama osoba"},
    )
    return Target(h.world.main, ids={"merge": merge["id"], "kept": kept}, version=merge["version"])


def merged_persons(scene: Scene, response: httpx.Response) -> bool:
    return scene.target.ids["kept"] in response.text


def if_match(scene: Scene) -> dict[str, str]:
    return {"If-Match": f'"{scene.target.version}"'}


def new_person_body(scene: Scene) -> dict[str, Any]:
    status = {"PUP": "UNEMPLOYED", "NGO": "PARTICIPANT", "ZI": "PARTICIPANT"}.get(KINDS[scene.who], "APPLICANT")
    return {
        "first_name": "Nowa",
        "last_name": f"Klientka-{scene.who}",
        "birth_date": "1991-01-01",
        "enrollment": {"status": status},
    }


def subjects_hidden(scene: Scene, response: httpx.Response) -> str | None:
    if scene.who is Who.NGO_WITHDRAWN and response.json()["subjects"] != []:
        return "the envelope still shows after the consent was withdrawn"
    return None


def pesel_shown(scene: Scene, response: httpx.Response) -> str | None:
    if scene.who in (Who.OWN, Who.PARTNER, Who.NGO) and response.json()["pesel"] != scene.household.a_pesel:
        return "the identity the agreement or consent opens comes without the PESEL"
    return None


def consents_of_the_grantee(scene: Scene, response: httpx.Response) -> str | None:
    if scene.who is Who.OWN:
        return None
    grantees = {c["grantee"]["institution_id"] for c in response.json()["items"]}
    if grantees != {scene.world.id(scene.who)}:
        return f"a grantee sees consents given to others: {grantees}"
    return None


def no_blue_card_work(scene: Scene, response: httpx.Response) -> str | None:
    if scene.world.id(Who.ZI) in response.text:
        return "the access report shows the interdisciplinary team's Niebieska Karta work"
    return None


# The callers that see B's family but may not read A: what they are to be answered about A, and the bug if not.
MAY_NOT_READ_A = (Who.EXPIRED, Who.NO_AGREEMENT, Who.NGO_WITHDRAWN)
BLIND_TO_A: dict[str, Cell] = {str(w): 404 for w in MAY_NOT_READ_A}
# Hours, benefits, outcomes, referrals and families are about the caller's own clients only.
NOT_THEIR_CLIENT: dict[str, Cell] = {str(w): 422 for w in MAY_NOT_READ_A}


def _stale_step(step: str) -> Callable[[Scene], Call]:
    return lambda s: Call(f"/v1/contracts/{s.world.contract}/{step}", json={}, headers={"If-Match": STALE})


def _referral_action(action: str, body: Callable[[Scene], Any]) -> Callable[[Scene], Call]:
    return lambda s: Call(f"/v1/referrals/{s.target.ids['referral']}/{action}", json=body(s), headers=if_match(s))


def _steps() -> dict[tuple[str, str], Row]:
    rows: dict[tuple[str, str], Row] = {}
    for step in ("submit", "approve", "sign", "amend", "review", "complete", "terminate"):
        cases = [
            Case(
                "a stale If-Match: whoever may see the contract learns only that",
                _stale_step(step),
                answers(404, own=412, partner=412),
                probe=text(CONTRACT_MARKER),
                refresh=False,  # nothing changes, not even by mistake: the contract's state is no other row's
            )
        ]
        if step == "submit":
            cases.append(
                Case(
                    "a draft: either party submits it",
                    lambda s: Call(f"/v1/contracts/{s.target.ids['contract']}/submit", json={}, headers=if_match(s)),
                    answers(404, own=SEES, partner=SEES),
                    prepare=draft_contract,
                    probe=text(CONTRACT_MARKER),
                )
            )
        rows[("POST", f"/v1/contracts/{{contract_id}}/{step}")] = Personal("the family's contract", cases)
    return rows


def _referral_actions() -> dict[tuple[str, str], Row]:
    receiver_acts = answers(404, partner=OK, own=403)
    plans: dict[str, tuple[str, Mapping[Who, Expect], Callable[[Scene], Any]]] = {
        "send": ("draft", answers(404, own=OK), lambda _: {}),
        "receive": ("sent", receiver_acts, lambda _: {}),
        "accept": ("received", receiver_acts, lambda _: {}),
        "reject": ("received", receiver_acts, lambda _: {"reason": "NO_CAPACITY"}),
        "start": ("accepted", receiver_acts, lambda _: {}),
        "hold": ("in_progress", receiver_acts, lambda _: {"note": "urlop"}),
        "resume": ("on_hold", receiver_acts, lambda _: {}),
        "complete": (
            "in_progress",
            receiver_acts,
            lambda s: {
                "outcomes": [{"person_id": s.world.referral_subject, "kind": "TRAINING_COMPLETED", "on": "2025-01-10"}]
            },
        ),
        "fail": ("in_progress", receiver_acts, lambda _: {"reason": "PERSON_ABSENT"}),
        "cancel": ("sent", answers(404, own=OK, partner=403), lambda _: {}),
        "forward": ("received", receiver_acts, lambda s: {"to": s.world.id(Who.NGO)}),
    }
    rows: dict[tuple[str, str], Row] = {}
    for action, (status, expect, body) in plans.items():
        rows[("POST", f"/v1/referrals/{{referral_id}}/{action}")] = Personal(
            "a referral's envelope (the subject's identity)",
            [
                Case(
                    f"a {status} referral",
                    _referral_action(action, body),
                    expect,
                    prepare=referral_in(status),
                    probe=text(REFERRAL_SUBJECT),
                )
            ],
        )
    return rows


REST: dict[tuple[str, str], Row] = {
    # -- operations, tokens, code lists, institutions: no person's data --
    ("GET", "/health/live"): NotPersonal("liveness probe"),
    ("GET", "/health/ready"): NotPersonal("readiness probe: database reachable or not"),
    ("GET", "/metrics"): NotPersonal("Prometheus counters, labelled by route templates (never by ids)"),
    ("GET", "/v1/code-lists"): NotPersonal("public code lists"),
    ("GET", "/v1/code-lists/{name}"): NotPersonal("a public code list"),
    ("GET", "/problems/{slug}"): NotPersonal("documentation of a problem type"),
    ("POST", "/oauth/token"): NotPersonal("client credentials for a token"),
    ("GET", "/oauth/jwks.json"): NotPersonal("public signing keys"),
    ("POST", "/v1/institutions"): NotPersonal("institutions: REGON, NIP, TERYT, contacts"),
    ("GET", "/v1/institutions"): NotPersonal("institutions: REGON, NIP, TERYT, contacts"),
    ("GET", "/v1/institutions/{institution_id}"): NotPersonal("an institution"),
    ("PUT", "/v1/institutions/{institution_id}"): NotPersonal("an institution"),
    ("POST", "/v1/institutions/{institution_id}/workers"): NotPersonal("staff directory, not clients"),
    ("GET", "/v1/institutions/{institution_id}/workers"): NotPersonal("staff directory, not clients"),
    ("GET", "/v1/workers/{worker_id}"): NotPersonal("staff directory, not clients"),
    ("POST", "/v1/partnerships"): NotPersonal("member institutions and their staff teams"),
    ("GET", "/v1/partnerships/{partnership_id}"): NotPersonal("member institutions and their staff teams"),
    ("GET", "/v1/reports/monitoring"): NotPersonal("aggregate figures of a partnership, no record of a person"),
    ("POST", "/v1/agreements"): NotPersonal("agreements between institutions"),
    ("GET", "/v1/agreements"): NotPersonal("agreements between institutions"),
    ("GET", "/v1/agreements/{agreement_id}"): NotPersonal("an agreement between institutions"),
    ("POST", "/v1/agreements/{agreement_id}/sign"): NotPersonal("an agreement between institutions"),
    ("POST", "/v1/agreements/{agreement_id}/end"): NotPersonal("an agreement between institutions"),
    ("POST", "/v1/webhook-subscriptions"): NotPersonal("the institution's own subscription settings"),
    ("GET", "/v1/webhook-subscriptions"): NotPersonal("the institution's own subscription settings"),
    ("GET", "/v1/webhook-subscriptions/{subscription_id}"): NotPersonal("the institution's own subscription"),
    ("DELETE", "/v1/webhook-subscriptions/{subscription_id}"): NotPersonal("the institution's own subscription"),
    ("GET", "/v1/webhook-subscriptions/{subscription_id}/deliveries"): NotPersonal(
        "deliveries of the /v1/events feed to the institution's own endpoint: the feed's row covers what they hold"
    ),
    ("POST", "/v1/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/replay"): NotPersonal(
        "queues one of the institution's own deliveries again"
    ),
    ("GET", "/v1/services"): NotPersonal("the directory of services (informator)"),
    ("GET", "/v1/services/hsds"): NotPersonal("the directory in Open Referral form"),
    ("GET", "/v1/services/places"): NotPersonal("the directory's places"),
    ("GET", "/v1/services/{service_id}"): NotPersonal("a service of the directory"),
    ("POST", "/v1/institutions/{institution_id}/services"): NotPersonal("a service of the directory"),
    ("PUT", "/v1/institutions/{institution_id}/services/{service_id}"): NotPersonal("a service of the directory"),
    ("GET", "/informator"): NotPersonal("the public HTML directory"),
    ("GET", "/informator/styl.css"): NotPersonal("a stylesheet"),
    ("GET", "/informator/uslugi/{service_id}"): NotPersonal("a public page of a service"),
    ("GET", "/graphql"): ThroughGraphQL("the same schema as POST: GRAPHQL's rows, run over POST"),
    ("POST", "/graphql"): ThroughGraphQL("every top-level field has a row in GRAPHQL"),
    # -- persons --
    ("POST", "/v1/persons"): Personal(
        "registers a client: identity and the enrollment",
        [
            Case(
                "a new client of the caller",
                lambda s: Call("/v1/persons", json=new_person_body(s)),
                answers(CREATED, zi=422, zi_other=422),  # a team keeps Niebieska Karta records, not enrollments
                refresh=False,
            )
        ],
    ),
    ("GET", "/v1/persons"): Personal(
        "identity and enrollments of the institution's clients",
        [Case("the institution's clients", lambda _: Call("/v1/persons"), answers(BLIND, own=SEES))],
    ),
    ("GET", "/v1/persons/{person_id}"): Personal(
        "identity, the enrollments, where else the person is served",
        [
            Case(
                "A",
                lambda s: Call(f"/v1/persons/{s.a}"),
                answers(404, own=SEES, partner=SEES, ngo=SEES),
                check=pesel_shown,
            ),
            Case(
                "A, read for monitoring: the NGO's consents do not name that purpose",
                lambda s: Call(f"/v1/persons/{s.a}", headers={"X-Purpose": "MONITORING"}),
                answers(404, own=SEES, partner=SEES),
            ),
            Case(
                "B, a client of every institution: where else B is served",
                lambda s: Call(f"/v1/persons/{s.household.b}"),
                answers(BLIND, own=SEES, partner=SEES, zi=404, zi_other=404),
                probe=served_elsewhere,
            ),
        ],
    ),
    ("PATCH", "/v1/persons/{person_id}"): Personal(
        "identity (no change asked: the answer is the door's)",
        [
            Case(
                "A, enrolled at the MOPS only",
                lambda s: Call(f"/v1/persons/{s.a}", json={}, headers=if_match(s)),
                answers(404, own=SEES, partner=403, ngo=403, **BLIND_TO_A),
                prepare=on_world(lambda w: f"/v1/persons/{w.main.a}"),
            )
        ],
    ),
    ("PATCH", "/v1/enrollments/{enrollment_id}"): Personal(
        "status and worker at an institution",
        [
            Case(
                "the MOPS's enrollment of A",
                lambda s: Call(f"/v1/enrollments/{s.household.a_enrollment}", json={}, headers=if_match(s)),
                answers(404, own=OK),
                prepare=enrollment_of_a,
            )
        ],
    ),
    # -- reconciliation and person merges --
    ("GET", "/v1/reconciliation"): Personal(
        "what other institutions' systems say about the caller's persons, as far as the access policy opens it",
        [
            Case(
                "A's differences: only for an institution whose own record A is",
                lambda s: Call("/v1/reconciliation", params={"person_id": s.a}),
                answers(404, own=OK),
            ),
            Case(
                "F's members' differences: for whoever sees F through its own client",
                lambda s: Call("/v1/reconciliation", params={"family_id": s.household.family}),
                answers(BLIND, zi=404, zi_other=404),
            ),
            Case("the institution's open differences", lambda _: Call("/v1/reconciliation"), answers(BLIND)),
        ],
    ),
    ("POST", "/v1/reconciliation/{difference_id}/resolve"): Personal(
        "a worker's decision about a difference in a person's data",
        [
            Case(
                "a difference never reported",
                lambda _: Call(
                    "/v1/reconciliation/00000000-0000-4000-8000-000000000001/resolve",
                    json={"chosen": "source:x", "values_seen": "0" * 64},
                ),
                answers(404),
            )
        ],
    ),
    ("POST", "/v1/person-merges"): Personal(
        "moves every link of one person's record to another",
        [
            Case(
                "B into A: two PESELs, two persons, for the one institution that enrolls both",
                lambda s: Call(
                    "/v1/person-merges",
                    json={"kept_person_id": s.a, "merged_person_id": s.household.b, "reason": "ta sama osoba"},
                ),
                answers(404, own=409),
                refresh=False,
            )
        ],
    ),
    ("GET", "/v1/person-merges/{merge_id}"): Personal(
        "which records of a person were merged, and what moved",
        [
            Case(
                "a merge the MOPS made",
                lambda s: Call(f"/v1/person-merges/{s.target.ids['merge']}"),
                answers(404, own=SEES),
                prepare=scratch_merge,
                probe=merged_persons,
            )
        ],
    ),
    ("POST", "/v1/person-merges/{merge_id}/undo"): Personal(
        "puts a person's links back on two records",
        [
            Case(
                "a merge the MOPS made",
                lambda s: Call(f"/v1/person-merges/{s.target.ids['merge']}/undo", json={}, headers=if_match(s)),
                answers(404, own=SEES),
                prepare=scratch_merge,
                probe=merged_persons,
            )
        ],
    ),
    # -- families --
    ("POST", "/v1/families"): Personal(
        "household composition",
        [
            Case(
                "a new family with A as a member",
                lambda s: Call(
                    "/v1/families", json={"name": "Nowa rodzina", "members": [{"person_id": s.a, "role": "PARENT"}]}
                ),
                answers(
                    422,
                    own=CREATED,
                    zi=422,
                    zi_other=422,
                ),
                prepare=scratch_household,
                refresh=False,  # a success changes what that caller sees of A, no one else's view
            )
        ],
    ),
    ("GET", "/v1/families"): Personal(
        "household composition",
        [
            Case(
                "families the caller sees",
                lambda _: Call("/v1/families"),
                answers(BLIND, own=SEES, partner=SEES, ngo=SEES),
                probe=person_a_or_id,
            )
        ],
    ),
    ("GET", "/v1/families/{family_id}"): Personal(
        "household composition",
        [
            Case(
                "F, kept by the MOPS",
                lambda s: Call(f"/v1/families/{s.household.family}"),
                answers(BLIND, own=SEES, partner=SEES, ngo=SEES, zi=404, zi_other=404),
                probe=person_a_or_id,
            ),
            Case(
                "F, read for a referral: the NGO's consent for that purpose does not name the household",
                lambda s: Call(f"/v1/families/{s.household.family}", headers={"X-Purpose": "REFERRAL"}),
                answers(BLIND, own=SEES, partner=SEES, zi=404, zi_other=404),
                probe=person_a_or_id,
            ),
        ],
    ),
    ("PATCH", "/v1/families/{family_id}"): Personal(
        "household composition (the answer); the family's name",
        [
            Case(
                "F renamed to its own name",
                lambda s: Call(f"/v1/families/{s.household.family}", json={"name": FAMILY_NAME}, headers=if_match(s)),
                answers(BLIND, own=SEES, partner=SEES, ngo=SEES, zi=404, zi_other=404),
                prepare=on_world(lambda w: f"/v1/families/{w.main.family}"),
                probe=person_a_or_id,
            )
        ],
    ),
    ("POST", "/v1/families/{family_id}/members"): Personal(
        "household composition",
        [
            Case(
                "B again: a conflict for whoever may change F",
                lambda s: Call(
                    f"/v1/families/{s.household.family}/members",
                    json={"person_id": s.household.b, "role": "CHILD"},
                    headers=if_match(s),
                ),
                answers(409, zi=404, zi_other=404),
                prepare=on_world(lambda w: f"/v1/families/{w.main.family}"),
            ),
            Case(
                "a new client of the MOPS",
                lambda s: Call(
                    f"/v1/families/{s.household.family}/members",
                    json={"person_id": s.target.ids["person"], "role": "CHILD"},
                    headers=if_match(s),
                ),
                answers(422, own=SEES, zi=404, zi_other=404),
                prepare=new_client_for_the_family,
            ),
        ],
    ),
    ("PATCH", "/v1/families/{family_id}/members/{membership_id}"): Personal(
        "household composition: A's role",
        [
            Case(
                "A's membership",
                lambda s: Call(
                    f"/v1/families/{s.household.family}/members/{s.target.ids['membership']}",
                    json={"role": s.target.ids["role"]},
                    headers=if_match(s),
                ),
                # Who may read A but neither keeps the family nor serves A is told why not.
                answers(404, own=SEES, partner=403, ngo=403, **BLIND_TO_A),
                prepare=household_member("change-role"),
                probe=person_a_or_id,
            )
        ],
    ),
    ("POST", "/v1/families/{family_id}/members/{membership_id}/end"): Personal(
        "household composition: A leaves",
        [
            Case(
                "A's membership",
                lambda s: Call(
                    f"/v1/families/{s.household.family}/members/{s.target.ids['membership']}/end",
                    json={"reason": "LEFT_HOUSEHOLD"},
                    headers=if_match(s),
                ),
                answers(404, own=OK, partner=403, ngo=403, **BLIND_TO_A),
                prepare=household_member("end-membership"),
            )
        ],
    ),
    ("POST", "/v1/families/{family_id}/diagnoses"): Personal(
        "a diagnosis of the family by life area",
        [
            Case(
                "the caller's own diagnosis of F",
                lambda s: Call(
                    f"/v1/families/{s.household.family}/diagnoses",
                    json={"diagnosed_on": "2025-02-01", "areas": [{"area": "WORK", "deficits": "brak pracy"}]},
                ),
                answers(CREATED, zi=404, zi_other=404),  # each institution serving a member may add its own
                refresh=False,
            )
        ],
    ),
    ("GET", "/v1/families/{family_id}/diagnoses"): Personal(
        "diagnoses by life area (health, work, housing...)",
        [
            Case(
                "F's diagnosis by the MOPS",
                lambda s: Call(f"/v1/families/{s.household.family}/diagnoses"),
                answers(BLIND, own=SEES, partner=SEES, zi=404, zi_other=404),
                probe=text(DIAGNOSIS_MARKER),
            )
        ],
    ),
    ("GET", "/v1/families/{family_id}/delivery-record"): Personal(
        "hours, benefits and outcomes recorded for the family's members",
        [
            Case(
                "F: what each caller recorded itself",
                lambda s: Call(f"/v1/families/{s.household.family}/delivery-record"),
                answers(BLIND, own=SEES, zi=404, zi_other=404),
                probe=items_of(Who.OWN, "hours", "benefits", "outcomes"),
            )
        ],
    ),
    # -- contracts --
    ("POST", "/v1/contracts"): Personal(
        "a contract with the family",
        [
            Case(
                "a tri-party contract on F, parties MOPS and PUP",
                lambda s: Call("/v1/contracts", json=contract_body(s.world, s.household)),
                answers(422, own=CREATED, partner=CREATED),
                refresh=False,
            )
        ],
    ),
    ("GET", "/v1/contracts/{contract_id}"): Personal(
        "the family's contract",
        [
            Case(
                "the draft contract on F",
                lambda s: Call(f"/v1/contracts/{s.world.contract}"),
                answers(404, own=SEES, partner=SEES),
                probe=text(CONTRACT_MARKER),
            )
        ],
    ),
    ("GET", "/v1/contracts/{contract_id}/differences"): Personal(
        "the family's contract, version to version",
        [
            Case(
                "version 1 against itself",
                lambda s: Call(f"/v1/contracts/{s.world.contract}/differences", params={"from": "1", "to": "1"}),
                answers(404, own=OK, partner=OK),
            )
        ],
    ),
    **_steps(),
    ("POST", "/v1/contracts/{contract_id}/actions/{action_id}/referral"): Personal(
        "a referral about the members of a contract's action",
        [
            Case(
                "the contract's action, to the PUP",
                lambda s: Call(
                    f"/v1/contracts/{s.world.contract}/actions/{s.world.contract_action}/referral",
                    json={"receiver_id": s.world.id(Who.PARTNER), "reason": "UNEMPLOYMENT"},
                ),
                answers(404, own=CREATED, partner=422),  # the PUP cannot refer to itself
                refresh=False,
            )
        ],
    ),
    # -- deliveries --
    ("POST", "/v1/deliveries"): Personal(
        "hours of a specialist for a person",
        [
            Case(
                "hours for A",
                lambda s: Call("/v1/deliveries", json=hours_body(s.a)),
                answers(CREATED, partner=422, ngo=422, zi=422, zi_other=422, **NOT_THEIR_CLIENT),
                refresh=False,
            )
        ],
    ),
    ("POST", "/v1/deliveries/{record_id}/correct"): Personal(
        "hours of a specialist for a person",
        [
            Case(
                "the MOPS's hours for A",
                lambda s: Call(f"/v1/deliveries/{s.target.ids['hours']}/correct", json=hours_body(s.a)),
                answers(404, own=CREATED),  # another institution's record does not exist for the caller
                prepare=new_hours,
            )
        ],
    ),
    ("POST", "/v1/benefits"): Personal(
        "a cash benefit paid to a person",
        [
            Case(
                "a benefit for A",
                lambda s: Call("/v1/benefits", json=benefit_body(s.a)),
                answers(CREATED, partner=422, ngo=422, zi=422, zi_other=422, **NOT_THEIR_CLIENT),
                refresh=False,
            )
        ],
    ),
    ("POST", "/v1/outcomes"): Personal(
        "an outcome for a person",
        [
            Case(
                "an outcome for A",
                lambda s: Call("/v1/outcomes", json=outcome_body(s.a)),
                answers(CREATED, partner=422, ngo=422, zi=422, zi_other=422, **NOT_THEIR_CLIENT),
                refresh=False,
            )
        ],
    ),
    # -- referrals --
    ("POST", "/v1/referrals"): Personal(
        "a referral's envelope",
        [
            Case(
                "A, to the PUP",
                lambda s: Call("/v1/referrals", json=referral_body(s)),
                answers(
                    422,
                    own=Expect(201, sees=True),
                    partner=422,  # to itself
                    ngo=422,  # may read A, but refers its own clients only
                    **NOT_THEIR_CLIENT,
                ),
                refresh=False,
            ),
            Case(
                "A, to the NGO (A's consent to it for referrals is in force)",
                lambda s: Call("/v1/referrals", json=referral_body(s, Who.NGO)),
                answers(
                    422,
                    own=Expect(201, sees=True),
                    partner=422,  # may read A (agreement), but refers its own clients only
                    ngo=422,  # to itself
                    **NOT_THEIR_CLIENT,
                ),
                refresh=False,
            ),
        ],
    ),
    ("GET", "/v1/referrals"): Personal(
        "referrals' envelopes",
        [
            Case(
                "the inbox",
                lambda _: Call("/v1/referrals", params={"box": "inbox"}),
                answers(BLIND, partner=SEES, ngo=SEES),
            ),
            Case("the outbox", lambda _: Call("/v1/referrals", params={"box": "outbox"}), answers(BLIND, own=SEES)),
        ],
    ),
    ("GET", "/v1/referrals/{referral_id}"): Personal(
        "a referral's envelope",
        [
            Case(
                "to the PUP, accepted",
                lambda s: Call(f"/v1/referrals/{s.world.referral_to_partner}"),
                answers(404, own=SEES, partner=SEES),
            ),
            Case(
                "to the NGO, on its consent",
                lambda s: Call(f"/v1/referrals/{s.world.referral_to_ngo}"),
                answers(404, own=SEES, ngo=SEES),
            ),
            Case(
                "to the NGO whose consent was withdrawn since",
                lambda s: Call(f"/v1/referrals/{s.world.referral_to_ngo_withdrawn}"),
                answers(404, own=SEES, ngo_withdrawn=BLIND),
                check=subjects_hidden,
            ),
        ],
    ),
    **_referral_actions(),
    ("GET", "/v1/events"): Personal(
        "changes of referrals (ids and statuses) to their audience",
        [
            Case(
                "the feed: events of the referral to the PUP",
                lambda _: Call("/v1/events"),
                answers(BLIND, own=SEES, partner=SEES),
                probe=world_id(lambda w: w.referral_to_partner),
            )
        ],
    ),
    # -- Niebieska Karta --
    ("POST", "/v1/restricted-records"): Personal(
        "domestic violence (Niebieska Karta)",
        [
            Case(
                "a record about A",
                lambda s: Call(
                    "/v1/restricted-records",
                    json={"form": "NK_B", "procedure_date": "2025-02-01", "person_id": s.a, "note": "Druga"},
                ),
                answers(403, zi=CREATED, zi_other=CREATED),  # a team names any person; only teams write
                refresh=False,
            )
        ],
    ),
    ("GET", "/v1/restricted-records"): Personal(
        "domestic violence (Niebieska Karta)",
        [
            Case(
                "the team's records",
                lambda _: Call("/v1/restricted-records"),
                answers(403, zi=SEES, zi_other=BLIND),
                probe=text(BLUE_CARD_MARKER),
            ),
            Case(
                "the team's records about A",
                lambda s: Call("/v1/restricted-records", params={"person_id": s.a}),
                answers(403, zi=SEES, zi_other=BLIND),
                probe=text(BLUE_CARD_MARKER),
            ),
        ],
    ),
    ("GET", "/v1/restricted-records/{record_id}"): Personal(
        "domestic violence (Niebieska Karta)",
        [
            Case(
                "the team's record about A",
                lambda s: Call(f"/v1/restricted-records/{s.world.blue_card}"),
                answers(404, zi=SEES),
                probe=text(BLUE_CARD_MARKER),
            )
        ],
    ),
    ("PATCH", "/v1/restricted-records/{record_id}"): Personal(
        "domestic violence (Niebieska Karta)",
        [
            Case(
                "the team's record about A, its note given again",
                lambda s: Call(
                    f"/v1/restricted-records/{s.world.blue_card}", json={"note": BLUE_CARD_MARKER}, headers=if_match(s)
                ),
                answers(404, zi=SEES),
                prepare=on_world(lambda w: f"/v1/restricted-records/{w.blue_card}", Who.ZI),
                probe=text(BLUE_CARD_MARKER),
            )
        ],
    ),
    # -- the grounds of sharing --
    ("POST", "/v1/persons/{person_id}/consents"): Personal(
        "A's consent",
        [
            Case(
                "a consent of A to the NGO for monitoring",
                lambda s: Call(
                    f"/v1/persons/{s.a}/consents",
                    json={
                        "grantee": {"institution_id": s.world.id(Who.NGO)},
                        "categories": ["contact"],
                        "purpose": "MONITORING",
                        "method": "SIGNED_FORM",
                        "given_on": "2025-01-05",
                    },
                ),
                answers(404, own=CREATED),  # entered by an institution serving the person
                refresh=False,
            )
        ],
    ),
    ("GET", "/v1/persons/{person_id}/consents"): Personal(
        "A's consents",
        [
            Case(
                "A's consents; the NGO's to the family purpose among them",
                lambda s: Call(f"/v1/persons/{s.a}/consents"),
                answers(404, own=SEES, ngo=SEES, ngo_withdrawn=BLIND),  # a grantee sees those given to it
                probe=lambda s, r: s.household.consents["ngo_family"] in r.text,
                check=consents_of_the_grantee,
            )
        ],
    ),
    ("POST", "/v1/persons/{person_id}/consents/{consent_id}/withdraw"): Personal(
        "A's consent",
        [
            Case(
                "A's consent to the NGO",
                lambda s: Call(
                    f"/v1/persons/{s.a}/consents/{s.target.ids['consent']}/withdraw", headers={"If-Match": '"1"'}
                ),
                answers(404, own=OK, ngo=OK),  # through an institution serving A, or the grantee itself
                prepare=new_consent,
            )
        ],
    ),
    ("POST", "/v1/shared-client-lookups"): Personal(
        "where the person is served and the worker there",
        [
            Case(
                "A's PESEL, for family cooperation",
                lambda s: Call(
                    "/v1/shared-client-lookups", json={"purpose": "FAMILY_COOPERATION", "pesel": s.household.a_pesel}
                ),
                answers(BLIND, own=SEES, partner=SEES, ngo=SEES),
                probe=lambda s, r: s.a in r.text,
            )
        ],
    ),
    # -- the audit trail --
    ("GET", "/v1/audit-events"): Personal(
        "who read or changed A's data, when and why",
        [
            Case(
                "records about A: each institution its own",
                lambda s: Call("/v1/audit-events", params={"subject_id": s.a, "limit": "200"}),
                answers(BLIND, own=SEES),
                probe=items_of(Who.OWN),
            )
        ],
    ),
    ("GET", "/v1/persons/{person_id}/access-report"): Personal(
        "who read or changed A's data, at every institution",
        [
            Case(
                "A's access report",
                lambda s: Call(f"/v1/persons/{s.a}/access-report"),
                answers(404, own=OK),  # only an institution that enrolls A produces it
                check=no_blue_card_work,
            )
        ],
    ),
}


# --- GraphQL: every top-level field of Query and Mutation ----------------------------------------------------------


def gql(query: str, variables: Callable[[Scene], dict[str, Any]]) -> Callable[[Scene], Call]:
    return lambda s: Call("/graphql", json={"query": query, "variables": variables(s)})


PERSON_GRAPH = """
query ($id: UUID!) { person(id: $id) {
  id first_name last_name served_elsewhere { institution_id status }
  families { id members { person { id last_name } } }
  referrals { id subjects { last_name } }
} }"""
FAMILY_GRAPH = """
query ($id: UUID!) { family(id: $id) {
  id name members { current person { id last_name } }
  referrals { id subjects { last_name } }
} }"""
FAMILY_DIAGNOSES = "query ($id: UUID!) { family(id: $id) { id diagnoses { areas { area urgent_needs } } } }"
FAMILY_CONTRACTS = "query ($id: UUID!) { family(id: $id) { id contracts { id goals } } }"
FAMILY_RECORD = "query ($id: UUID!) { family(id: $id) { id delivery_record { hours { id } } } }"
FAMILIES_GRAPH = "{ families(first: 100) { items { id members { person { id last_name } } } } }"
REFERRAL_GRAPH = "query ($id: UUID!) { referral(id: $id) { id status subjects { last_name } } }"
REFERRALS_GRAPH = "query ($box: String!) { referrals(box: $box) { items { id subjects { last_name } } } }"
CREATE_FAMILY = """
mutation ($input: FamilyInput!) { create_family(input: $input) { id members { person { id last_name } } } }"""
ADD_MEMBER = """
mutation ($family: UUID!, $version: Int!, $member: MemberInput!) {
  add_family_member(family_id: $family, version: $version, member: $member) { id } }"""
CREATE_REFERRAL = """
mutation ($input: ReferralInput!) { create_referral(input: $input) { id subjects { last_name } } }"""
REFERRAL_ACTION = """
mutation ($id: UUID!, $version: Int!) { referral_action(referral_id: $id, version: $version, action: RECEIVE) {
  id status subjects { last_name } } }"""


def _graph_referral(s: Scene, receiver: Who = Who.PARTNER) -> dict[str, Any]:
    body = referral_body(s, receiver)
    return {k: v for k, v in body.items() if k != "justification"}


GRAPHQL: dict[tuple[str, str], Row] = {
    ("Query", "person"): Personal(
        "a person with where else they are served, their families and referrals",
        [
            Case(
                "A",
                gql(PERSON_GRAPH, lambda s: {"id": s.a}),
                answers(404, own=SEES, partner=SEES, ngo=SEES),
                status=graphql_status,
            ),
            Case(
                "B, and A through B's family",
                gql(PERSON_GRAPH, lambda s: {"id": s.household.b}),
                answers(BLIND, own=SEES, partner=SEES, ngo=SEES, zi=404, zi_other=404),
                probe=person_a_or_id,
                status=graphql_status,
            ),
        ],
    ),
    ("Query", "family"): Personal(
        "a household with members, diagnoses, contracts, delivery record and referrals",
        [
            Case(
                "F: members and referrals",
                gql(FAMILY_GRAPH, lambda s: {"id": s.household.family}),
                answers(BLIND, own=SEES, partner=SEES, ngo=SEES),  # null for the teams, A left out for the others
                probe=person_a_or_id,
                status=graphql_status,
            ),
            Case(
                "F: the MOPS's diagnosis",
                gql(FAMILY_DIAGNOSES, lambda s: {"id": s.household.family}),
                answers(BLIND, own=SEES, partner=SEES, zi=BLIND, zi_other=BLIND),
                probe=text(DIAGNOSIS_MARKER),
                status=graphql_status,
            ),
            Case(
                "F: contracts (the parties')",
                gql(FAMILY_CONTRACTS, lambda s: {"id": s.household.family}),
                answers(BLIND, own=SEES, partner=SEES),
                probe=text(CONTRACT_MARKER),
                status=graphql_status,
            ),
            Case(
                "F: the delivery record (each caller's own)",
                gql(FAMILY_RECORD, lambda s: {"id": s.household.family}),
                answers(BLIND, own=SEES),
                probe=world_id(lambda w: w.hours),
                status=graphql_status,
            ),
        ],
    ),
    ("Query", "families"): Personal(
        "households with members",
        [
            Case(
                "the families the caller sees",
                gql(FAMILIES_GRAPH, lambda _: {}),
                answers(BLIND, own=SEES, partner=SEES, ngo=SEES),
                probe=person_a_or_id,
                status=graphql_status,
            )
        ],
    ),
    ("Query", "referral"): Personal(
        "a referral's envelope",
        [
            Case(
                "to the PUP",
                gql(REFERRAL_GRAPH, lambda s: {"id": s.world.referral_to_partner}),
                answers(404, own=SEES, partner=SEES),
                status=graphql_status,
            ),
            Case(
                "to the NGO whose consent was withdrawn",
                gql(REFERRAL_GRAPH, lambda s: {"id": s.world.referral_to_ngo_withdrawn}),
                answers(404, own=SEES, ngo_withdrawn=BLIND),
                status=graphql_status,
            ),
        ],
    ),
    ("Query", "referrals"): Personal(
        "referrals' envelopes",
        [
            Case(
                "the inbox",
                gql(REFERRALS_GRAPH, lambda _: {"box": "inbox"}),
                answers(BLIND, partner=SEES, ngo=SEES),
                status=graphql_status,
            ),
            Case(
                "the outbox",
                gql(REFERRALS_GRAPH, lambda _: {"box": "outbox"}),
                answers(BLIND, own=SEES),
                status=graphql_status,
            ),
        ],
    ),
    ("Mutation", "create_family"): Personal(
        "household composition",
        [
            Case(
                "a new family with A as a member",
                gql(
                    CREATE_FAMILY,
                    lambda s: {"input": {"name": "Nowa rodzina", "members": [{"person_id": s.a, "role": "PARENT"}]}},
                ),
                answers(422, own=SEES, zi=422, zi_other=422),
                prepare=scratch_household,
                refresh=False,
                status=graphql_status,
            )
        ],
    ),
    ("Mutation", "add_family_member"): Personal(
        "household composition",
        [
            Case(
                "B again: a conflict for whoever may change F",
                gql(
                    ADD_MEMBER,
                    lambda s: {
                        "family": s.household.family,
                        "version": s.target.version,
                        "member": {"person_id": s.household.b, "role": "CHILD"},
                    },
                ),
                answers(409, zi=404, zi_other=404),
                prepare=on_world(lambda w: f"/v1/families/{w.main.family}"),
                refresh=True,
                status=graphql_status,
            )
        ],
    ),
    ("Mutation", "create_referral"): Personal(
        "a referral's envelope",
        [
            Case(
                "A, to the PUP",
                gql(CREATE_REFERRAL, lambda s: {"input": _graph_referral(s)}),
                answers(422, own=SEES, partner=422, ngo=422, **NOT_THEIR_CLIENT),
                refresh=False,
                status=graphql_status,
            ),
            Case(
                "A, to the NGO (A's consent to it for referrals is in force)",
                gql(CREATE_REFERRAL, lambda s: {"input": _graph_referral(s, Who.NGO)}),
                answers(422, own=SEES, partner=422, ngo=422, **NOT_THEIR_CLIENT),
                refresh=False,
                status=graphql_status,
            ),
        ],
    ),
    ("Mutation", "referral_action"): Personal(
        "a referral's envelope",
        [
            Case(
                "receive a sent referral",
                gql(REFERRAL_ACTION, lambda s: {"id": s.target.ids["referral"], "version": s.target.version}),
                answers(404, partner=OK, own=403),
                prepare=referral_in("sent"),
                probe=text(REFERRAL_SUBJECT),
                refresh=True,
                status=graphql_status,
            )
        ],
    ),
}


# -- file batches --


def import_call(who: Who) -> Call:
    """A one-person export in the generic profile, its status from the caller's own list; importing it again
    changes nothing, so every caller may send it as often as the runner likes."""
    status = {"PUP": "UNEMPLOYED", "NGO": "PARTICIPANT", "ZI": "PARTICIPANT"}.get(KINDS[who], "APPLICANT")
    text = f"external_ref;first_name;last_name;birth_date;status\nM-1;Nowy;Importowany-{who};1990-02-03;{status}\n"
    return Call("/v1/imports", files={"file": ("dane.csv", text.encode(), "text/csv")}, data={"profile": "generic-csv"})


async def batch_of_own(h: Harness) -> Target:
    response = await h.send(Who.OWN, "POST", import_call(Who.OWN))
    assert response.status_code == 201, response.text
    return Target(h.world.main, ids={"batch": response.json()["id"]})


REST.update(
    {
        ("POST", "/v1/imports"): Personal(
            "imports the caller's own clients from its system's file; the answer holds counts and rejects",
            [
                Case(
                    "a one-person file of the caller's system",
                    lambda s: import_call(s.who),
                    answers(Expect(201, sees=False), zi=422, zi_other=422),  # a team keeps no enrollments
                    refresh=False,
                )
            ],
        ),
        ("GET", "/v1/imports/{batch_id}"): Personal(
            "an import batch: its counts and reject report (PESELs masked)",
            [
                Case(
                    "the MOPS's batch",
                    lambda s: Call(f"/v1/imports/{s.target.ids['batch']}"),
                    answers(404, own=Expect(200, sees=False)),
                    prepare=batch_of_own,
                )
            ],
        ),
    }
)
