"""Who is who in the bench database, decided before any row is written: a country's worth of institutions, workers,
persons and households, from a fixed seed (the same seed, the same plan).

Powiats of a PUP, a PCPR, an NGO and two to four gminas with their OPS/MOPS/GOPS; workers; persons in households
of one to six (valid PESELs, about 5% without one and known by a passport instead), each enrolled at their gmina's
centre, working-age adults half the time also at their powiat's PUP (the shared clients), a few at the PCPR or an
NGO. The rows of every table follow from the plan (rows.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from stdnum.pl import nip as stdnum_nip
from stdnum.pl import pesel as stdnum_pesel
from stdnum.pl import regon as stdnum_regon

SEED = 20261125

VOIVODESHIPS = [f"{n:02d}" for n in range(2, 33, 2)]
TOWNS = [
    "Bartoszyce", "Kętrzyn", "Giżycko", "Mrągowo", "Olecko", "Ełk", "Pisz", "Szczytno", "Nidzica", "Działdowo",
    "Iława", "Ostróda", "Braniewo", "Lidzbark", "Węgorzewo", "Gołdap", "Łomża", "Zambrów", "Kolno", "Sejny",
    "Augustów", "Sokółka", "Hajnówka", "Bielsk", "Siemiatycze", "Mońki", "Grajewo", "Łuków", "Radzyń", "Włodawa",
    "Chełm", "Krasnystaw", "Tomaszów", "Zamość", "Biłgoraj", "Janów", "Kraśnik", "Opole", "Puławy", "Ryki",
]  # fmt: skip
FIRST = {
    "M": ["Jan", "Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Łukasz", "Michał", "Józef", "Mikołaj",
          "Kacper", "Antoni", "Jakub", "Szymon", "Stanisław", "Marek", "Grzegorz", "Wojciech", "Adam", "Zbigniew"],
    "F": ["Anna", "Maria", "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Ewa", "Zofia", "Łucja", "Żaneta",
          "Julia", "Zuzanna", "Hanna", "Alicja", "Magdalena", "Joanna", "Monika", "Elżbieta", "Teresa", "Danuta"],
}  # fmt: skip
SURNAMES = [
    ("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"), ("Wójcik", "Wójcik"),
    ("Kowalczyk", "Kowalczyk"), ("Kamiński", "Kamińska"), ("Lewandowski", "Lewandowska"), ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"), ("Woźniak", "Woźniak"), ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska"),
    ("Jankowski", "Jankowska"), ("Mazur", "Mazur"), ("Kwiatkowski", "Kwiatkowska"), ("Krawczyk", "Krawczyk"),
    ("Piotrowski", "Piotrowska"), ("Grabowski", "Grabowska"), ("Nowakowski", "Nowakowska"), ("Pawłowski", "Pawłowska"),
    ("Michalski", "Michalska"), ("Król", "Król"), ("Wieczorek", "Wieczorek"), ("Jabłoński", "Jabłońska"),
    ("Wróbel", "Wróbel"), ("Majewski", "Majewska"), ("Olszewski", "Olszewska"), ("Stępień", "Stępień"),
    ("Malinowski", "Malinowska"), ("Jaworski", "Jaworska"), ("Łączyński", "Łączyńska"), ("Żółtowski", "Żółtowska"),
]  # fmt: skip
FOREIGN = {"M": ["Ołeksandr", "Andrij", "Serhij"], "F": ["Olena", "Natalia", "Iryna"]}
FOREIGN_SURNAMES = ["Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko"]

SA_STATUSES = (["BENEFIT_RECIPIENT"] * 5 + ["SOCIAL_WORK_CLIENT"] * 3 + ["APPLICANT", "SOCIAL_CONTRACT"]
               + ["FAMILY_ASSISTANT_CARE"])  # fmt: skip
PUP_STATUSES = ["UNEMPLOYED"] * 4 + ["LONG_TERM_UNEMPLOYED"] * 3 + ["JOB_SEEKER", "PROFILE_I", "PROFILE_II"]
PURPOSES = "EMPLOYMENT_ACTIVATION FAMILY_COOPERATION MONITORING REFERRAL SERVICE_DELIVERY SHARED_CLIENT_CHECK " \
    "SOCIAL_ASSISTANCE"  # fmt: skip
RECEIVES = "contact contract household identity labour_market_status referral social_assistance_status"
WORKER_ROLES = {
    "OPS": ["SOCIAL_WORKER"] * 3 + ["FAMILY_ASSISTANT"],
    "PUP": ["CAREER_ADVISER", "JOB_BROKER", "INTERNSHIP_OFFICER"],
    "PCPR": ["PSYCHOLOGIST", "PEDAGOGUE", "OTHER"],
    "NGO": ["PSYCHOLOGIST", "JOB_COACH"],
}
LABOUR_INSTRUMENTS = ["JOB_PLACEMENT", "CAREER_GUIDANCE", "TRAINING", "INTERNSHIP", "SOCIALLY_USEFUL_WORK"]
ASSISTANCE_FORMS = ["SOCIAL_WORK", "PERIODIC_ALLOWANCE", "COUNSELLING", "IN_KIND", "FAMILY_ASSISTANT"]
# The path a referral took to its status: the actions after `create`, and who took each.
REFERRAL_PATHS: list[tuple[str, float, list[tuple[str, str, str]]]] = [
    ("draft", 0.04, []),
    ("sent", 0.16, [("send", "sender", "sent")]),
    ("received", 0.10, [("send", "sender", "sent"), ("receive", "receiver", "received")]),
    ("accepted", 0.10, [("send", "sender", "sent"), ("receive", "receiver", "received"),
                        ("accept", "receiver", "accepted")]),
    ("in_progress", 0.15, [("send", "sender", "sent"), ("receive", "receiver", "received"),
                           ("accept", "receiver", "accepted"), ("start", "receiver", "in_progress")]),
    ("completed", 0.25, [("send", "sender", "sent"), ("receive", "receiver", "received"),
                         ("accept", "receiver", "accepted"), ("start", "receiver", "in_progress"),
                         ("complete", "receiver", "completed")]),
    ("rejected", 0.10, [("send", "sender", "sent"), ("receive", "receiver", "received"),
                        ("reject", "receiver", "rejected")]),
    ("cancelled", 0.05, [("send", "sender", "sent"), ("cancel", "sender", "cancelled")]),
    ("expired", 0.05, [("send", "sender", "sent"), ("expire", "system", "expired")]),
]  # fmt: skip
OUTCOME_KINDS = ["TRAINING_COMPLETED", "SOCIALLY_USEFUL_WORK", "INTERNSHIP_STARTED", "EMPLOYED_OPEN_MARKET"]
BENEFIT_BASES = ["SOCIAL_ASSISTANCE_ACT"] * 4 + ["FAMILY_BENEFITS_ACT", "HOUSING_ALLOWANCE_ACT", "ALIMONY_FUND_ACT"]
HOUSEHOLD_SIZES = [1, 2, 3, 4, 5, 6]
HOUSEHOLD_WEIGHTS = [0.22, 0.24, 0.24, 0.17, 0.08, 0.05]

D_1940 = date(1940, 1, 1).toordinal()
D_1962 = date(1962, 1, 1).toordinal()
D_2000 = date(2000, 12, 31).toordinal()
D_2008 = date(2008, 12, 31).toordinal()
D_2015 = date(2015, 1, 1).toordinal()
D_2024 = date(2024, 1, 1).toordinal()
D_2025 = date(2025, 1, 1).toordinal()
D_LAST = date(2026, 11, 30).toordinal()
_V4_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_V4_SET = (0x4 << 76) | (0x2 << 62)


def new_uuid(rng: random.Random) -> UUID:
    """A version-4 UUID from the seeded generator: the same seed, the same ids."""
    return UUID(int=(rng.getrandbits(128) & _V4_CLEAR) | _V4_SET)


_MIDNIGHTS: dict[int, datetime] = {}


def at(rng: random.Random, day: int, spread_days: int = 1) -> datetime:
    """A moment on a day (ordinal) or within `spread_days` after it, office hours in UTC."""
    if spread_days > 1:
        day += rng.randrange(spread_days)
    midnight = _MIDNIGHTS.get(day)
    if midnight is None:
        midnight = _MIDNIGHTS[day] = datetime.fromordinal(day).replace(tzinfo=UTC)
    return midnight + timedelta(seconds=6 * 3600 + rng.randrange(10 * 3600))


def regon(rng: random.Random) -> str:
    digits = f"{rng.randrange(10**8):08d}"
    return digits + stdnum_regon.calc_check_digit(digits)


def nip(rng: random.Random) -> str:
    while True:
        digits = f"{rng.randrange(100, 1000)}{rng.randrange(10**6):06d}"
        check = sum(int(d) * w for d, w in zip(digits, (6, 5, 7, 2, 3, 4, 5, 6, 7), strict=True)) % 11
        if check < 10 and stdnum_nip.is_valid(digits + str(check)):
            return digits + str(check)


# ---------------------------------------------------------------------------------------------------------------
# The plan: who is who, in memory (compact lists), before any row is written.


@dataclass(slots=True)
class Institution:
    id: UUID
    type: str
    name: str
    teryt: str
    powiat: int
    workers: list[UUID] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(slots=True)
class Powiat:
    index: int
    teryt: str
    town: str
    pup: Institution
    pcpr: Institution
    ngo: Institution
    ops: list[Institution]
    partnership_id: UUID


@dataclass(slots=True)
class Persons:
    """Person i's attributes at index i; households are contiguous runs of persons."""

    id: list[UUID] = field(default_factory=list)
    first: list[str] = field(default_factory=list)
    last: list[str] = field(default_factory=list)
    birth: list[int] = field(default_factory=list)  # date ordinal
    sex: list[str] = field(default_factory=list)
    pesel: list[str | None] = field(default_factory=list)
    ops: list[int] = field(default_factory=list)  # index into Plan.ops
    family: list[int] = field(default_factory=list)  # index into Plan.families
    role: list[str] = field(default_factory=list)
    since: list[int] = field(default_factory=list)  # enrolled at the centre since (ordinal)
    pup: list[bool] = field(default_factory=list)  # served at the PUP now
    other: list[str | None] = field(default_factory=list)  # also at the PCPR or an NGO


@dataclass(slots=True)
class Families:
    id: list[UUID] = field(default_factory=list)
    start: list[int] = field(default_factory=list)  # first person index
    size: list[int] = field(default_factory=list)
    since: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    powiats: list[Powiat]
    ops: list[Institution]
    persons: Persons
    families: Families

    def institutions(self) -> list[Institution]:
        return [i for p in self.powiats for i in (p.pup, p.pcpr, p.ngo, *p.ops)]


def _institution(rng: random.Random, kind: str, name: str, teryt: str, powiat: int, workers: int) -> Institution:
    inst = Institution(id=new_uuid(rng), type=kind, name=name, teryt=teryt, powiat=powiat)
    inst.workers = [new_uuid(rng) for _ in range(workers)]
    return inst


def plan(persons: int, seed: int = SEED) -> Plan:
    rng = random.Random(seed)
    n_powiats = max(8, min(80, persons // 12_500))
    powiats: list[Powiat] = []
    ops: list[Institution] = []
    per_ops = persons / (n_powiats * 3)
    for p in range(n_powiats):
        town = TOWNS[p % len(TOWNS)] + (f" {p // len(TOWNS) + 1}" if p >= len(TOWNS) else "")
        teryt = f"{VOIVODESHIPS[p % 16]}{p // 16 + 1:02d}"
        centres = []
        for g in range(rng.choice((2, 3, 3, 4))):
            kind_digit = "1" if g == 0 else rng.choice("23")
            kind = {"1": "MOPS", "2": "GOPS", "3": "OPS"}[kind_digit]
            where = town if g == 0 else f"gmina {town} {g}"
            name = {
                "MOPS": f"Miejski Ośrodek Pomocy Społecznej w {where}",
                "GOPS": f"Gminny Ośrodek Pomocy Społecznej – {where}",
                "OPS": f"Ośrodek Pomocy Społecznej – {where}",
            }[kind]
            centres.append(
                _institution(rng, kind, name, f"{teryt}{g + 1:02d}{kind_digit}", p, max(3, round(per_ops / 350)))
            )
        pup = _institution(rng, "PUP", f"Powiatowy Urząd Pracy w {town}", teryt, p, max(3, round(per_ops / 400)))
        pcpr = _institution(rng, "PCPR", f"Powiatowe Centrum Pomocy Rodzinie w {town}", teryt, p, 3)
        ngo = _institution(rng, "NGO", f"Stowarzyszenie Razem dla Rodziny – {town}", f"{teryt}011", p, 2)
        powiats.append(Powiat(p, teryt, town, pup, pcpr, ngo, centres, new_uuid(rng)))
        ops.extend(centres)

    people, families = Persons(), Families()
    serials: dict[tuple[int, str], int] = {}

    def add(ops_index: int, family: int, role: str, sex: str, surname: int, born: int, since: int) -> None:
        people.id.append(new_uuid(rng))
        foreign = rng.random() < 0.05
        if foreign:
            people.first.append(rng.choice(FOREIGN[sex]))
            people.last.append(FOREIGN_SURNAMES[surname % len(FOREIGN_SURNAMES)])
            people.pesel.append(None)
        else:
            people.first.append(rng.choice(FIRST[sex]))
            people.last.append(SURNAMES[surname][sex == "F"])
            while (count := serials.get((born, sex), 0)) >= 5000:  # every serial of the day taken: the next day
                born += 1
            serials[(born, sex)] = count + 1
            b = date.fromordinal(born)
            month = b.month + (20 if b.year >= 2000 else 0)
            digit = "13579"[count // 1000 % 5] if sex == "M" else "02468"[count // 1000 % 5]
            digits = f"{b.year % 100:02d}{month:02d}{b.day:02d}{count % 1000:03d}{digit}"
            people.pesel.append(digits + stdnum_pesel.calc_check_digit(digits))
        people.birth.append(born)
        people.sex.append(sex)
        people.ops.append(ops_index)
        people.family.append(family)
        people.role.append(role)
        people.since.append(since)
        working_age = D_1962 <= born <= D_2008
        people.pup.append(working_age and rng.random() < 0.5)
        r = rng.random()
        people.other.append("PCPR" if r < 0.03 else ("NGO" if r < 0.05 else None))

    while len(people.id) < persons:
        size = min(rng.choices(HOUSEHOLD_SIZES, HOUSEHOLD_WEIGHTS)[0], persons - len(people.id))
        ops_index = rng.randrange(len(ops))
        family = len(families.id)
        families.id.append(new_uuid(rng))
        families.start.append(len(people.id))
        families.size.append(size)
        surname = rng.randrange(len(SURNAMES))
        parent_born = rng.randrange(D_1962, D_2000)
        family_since = max(parent_born + 18 * 365, D_2015 - 3650) + rng.randrange(365)
        families.since.append(family_since)
        since = rng.randrange(D_2015, D_LAST - 30)
        first_sex = rng.choice("MF")
        add(ops_index, family, "PARENT", first_sex, surname, parent_born, since)
        if size >= 2:
            other_sex = "F" if first_sex == "M" else "M"
            add(ops_index, family, "PARENT", other_sex, surname, parent_born + rng.randrange(-1500, 1500), since)
        for k in range(2, size):
            if k == size - 1 and size >= 4 and rng.random() < 0.15:
                add(ops_index, family, "OTHER_RELATIVE", rng.choice("MF"), surname, rng.randrange(D_1940, D_1962),
                    since)  # fmt: skip
            else:
                latest = min(parent_born + 42 * 365, D_LAST - 60)
                born = rng.randrange(min(parent_born + 18 * 365, latest - 3 * 365), latest)
                add(ops_index, family, "CHILD", rng.choice("MF"), surname, born, since)
    return Plan(powiats=powiats, ops=ops, persons=people, families=families)
