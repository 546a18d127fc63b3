"""The directory of services ("informator"): what each institution offers, to whom, where and how.

Directory data is public: it describes services, never persons. A service belongs to one
institution, carries an instrument category (and, when there is one, the code of the instrument
from LabourMarketInstrument or AssistanceForm), structured eligibility, the territorial units it
serves (TERYT codes), its locations with opening hours, how to apply and what it costs.

Search folds Polish text so that a query typed without diacritics finds text written with them
(`fold`), and reads a TERYT code of a place as "every service serving that place" (`place_units`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import NewType, Protocol
from uuid import UUID

from app.domain.clock import local_date
from app.domain.code_lists import CodeLists
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import InstitutionId, new_id
from app.domain.values import Address, Contact, Teryt, TerytLevel, clean_text

ServiceId = NewType("ServiceId", UUID)
LocationId = NewType("LocationId", UUID)

INSTRUMENT_LISTS = ("LabourMarketInstrument", "AssistanceForm")
CATEGORY_LIST = "InstrumentCategory"

# ---------------------------------------------------------------------------------------------
# Polish text folding
# ---------------------------------------------------------------------------------------------

# Letters NFKD does not decompose into a base letter and a mark: Polish ł above all, and the few
# others a name of a foreign partner may carry. Everything else loses its marks through NFKD.
_UNDECOMPOSABLE = str.maketrans({"ł": "l", "Ł": "l", "ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower case, Polish (and other) diacritics removed, ł as l, anything not a letter or digit a space.

    `fold("Pośrednictwo pracy – Łódź")` is `"posrednictwo pracy lodz"`. Search indexes and queries
    both go through it, so a query typed on a keyboard without Polish letters finds the text.
    """
    lowered = text.translate(_UNDECOMPOSABLE).lower()
    without_marks = "".join(c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c))
    return " ".join(_NOT_ALNUM.sub(" ", without_marks).split())


# Words that carry no meaning in a search for a service; left in, each would have to match too.
_STOP_WORDS = frozenset(
    "a aby albo ale bez by co czy dla do i ich jak jest juz lub na nad nie o od oraz po pod przez przy "  # noqa: SIM905
    "sa sie ta tak te to tu u w we z za ze".split()
)
# Inflectional endings (already folded), longest first: "szkolenia" searches as "szkolen*",
# "pracy" as "prac*". A light touch, not a stemmer: the stem keeps at least four letters.
_ENDINGS = ("owie", "ami", "ach", "owi", "ego", "emu", "ych", "ymi", "iej", "om", "ow", "em", "ie", "ia", "iu")
_VOWELS = "aeiouy"
_MIN_STEM = 4


def _stem(token: str) -> str:
    if len(token) <= _MIN_STEM:
        return token
    for ending in _ENDINGS:
        if token.endswith(ending) and len(token) - len(ending) >= _MIN_STEM:
            return token[: -len(ending)]
    return token[:-1] if token[-1] in _VOWELS else token


def search_terms(query: str, *, max_terms: int = 8) -> tuple[str, ...]:
    """The prefixes a free-text query searches for: folded, without stop words, lightly stemmed.

    Every term must match (AND) as the beginning of a word. Only [a-z0-9] survive folding, so a
    term is safe to place in a full-text query of either database.
    """
    terms: list[str] = []
    for token in fold(query).split():
        if token in _STOP_WORDS or (len(token) == 1 and not token.isdigit()):
            continue
        stem = _stem(token)
        if stem not in terms:
            terms.append(stem)
    return tuple(terms[:max_terms])


# ---------------------------------------------------------------------------------------------
# Places: TERYT units a service serves, and the places a search names
# ---------------------------------------------------------------------------------------------

VOIVODESHIPS = {
    "02": "dolnośląskie",
    "04": "kujawsko-pomorskie",
    "06": "lubelskie",
    "08": "lubuskie",
    "10": "łódzkie",
    "12": "małopolskie",
    "14": "mazowieckie",
    "16": "opolskie",
    "18": "podkarpackie",
    "20": "podlaskie",
    "22": "pomorskie",
    "24": "śląskie",
    "26": "świętokrzyskie",
    "28": "warmińsko-mazurskie",
    "30": "wielkopolskie",
    "32": "zachodniopomorskie",
}

GMINA_KINDS = {
    "1": "gmina miejska",
    "2": "gmina wiejska",
    "3": "gmina miejsko-wiejska",
    "4": "miasto w gminie miejsko-wiejskiej",
    "5": "obszar wiejski gminy miejsko-wiejskiej",
    "8": "dzielnica Warszawy",
    "9": "delegatura",
}


def units_containing(place: Teryt) -> tuple[str, ...]:
    """The place itself and every unit it lies in, smallest first.

    The town (type 4) and the rural area (type 5) of an urban-rural gmina lie in that gmina (type 3,
    the same first six digits), which lies in its powiat, which lies in its voivodeship.
    """
    code = place.value
    units = [code]
    if place.level is TerytLevel.GMINA and code[6] in "45":
        units.append(code[:6] + "3")
    if len(code) > 4:
        units.append(code[:4])
    if len(code) > 2:
        units.append(code[:2])
    return tuple(units)


def units_within(place: Teryt) -> tuple[str, str] | None:
    """The range of codes of units lying inside a powiat or voivodeship (None for a gmina).

    Codes are digit strings, so every code starting with `place` and longer than it sorts after
    `place` and no later than `place` followed by nines: a range an ordinary index answers.
    """
    if place.level is TerytLevel.GMINA:
        return None
    return place.value, place.value + "9" * (7 - len(place.value))


def serves(areas: Iterable[Teryt], place: Teryt) -> bool:
    """True when a service serving `areas` serves `place`: an area contains it or lies within it.

    A gmina is served by services of that gmina, its powiat or its voivodeship; a powiat also by
    services of any of its gminas (they serve part of it).
    """
    containing = set(units_containing(place))
    within = units_within(place)
    return any(
        area.value in containing or (within is not None and within[0] < area.value <= within[1]) for area in areas
    )


def place_label(teryt: Teryt) -> str:
    """A short Polish description of a unit's kind, for a person choosing a place."""
    if teryt.level is TerytLevel.VOIVODESHIP:
        return f"województwo {VOIVODESHIPS.get(teryt.value, teryt.value)}"
    if teryt.level is TerytLevel.POWIAT:
        return "powiat"
    return GMINA_KINDS.get(teryt.value[6], "gmina")


# ---------------------------------------------------------------------------------------------
# The parts of a service
# ---------------------------------------------------------------------------------------------


class ServiceStatus(StrEnum):
    """As in Open Referral: a temporarily closed service stays listed; an inactive one is not found."""

    ACTIVE = "active"
    TEMPORARILY_CLOSED = "temporarily_closed"
    INACTIVE = "inactive"


LISTED_STATUSES = (ServiceStatus.ACTIVE, ServiceStatus.TEMPORARILY_CLOSED)


class Criterion(StrEnum):
    """Structured eligibility: who a service is meant for, beyond an age range."""

    REGISTERED_UNEMPLOYED = "REGISTERED_UNEMPLOYED"
    LONG_TERM_UNEMPLOYED = "LONG_TERM_UNEMPLOYED"
    JOB_SEEKER = "JOB_SEEKER"
    DISABILITY = "DISABILITY"
    LARGE_FAMILY = "LARGE_FAMILY"
    SOCIAL_ASSISTANCE_CLIENT = "SOCIAL_ASSISTANCE_CLIENT"
    SOCIAL_EXCLUSION_RISK = "SOCIAL_EXCLUSION_RISK"
    FAMILY_IN_CRISIS = "FAMILY_IN_CRISIS"
    FOSTER_FAMILY = "FOSTER_FAMILY"
    LEAVING_CARE = "LEAVING_CARE"
    HOMELESSNESS = "HOMELESSNESS"
    ADDICTION = "ADDICTION"
    VIOLENCE_AFFECTED = "VIOLENCE_AFFECTED"
    SENIOR = "SENIOR"
    FOREIGNER = "FOREIGNER"
    EMPLOYER = "EMPLOYER"

    @property
    def label_pl(self) -> str:
        return _CRITERION_LABELS[self]


_CRITERION_LABELS = {
    Criterion.REGISTERED_UNEMPLOYED: "osoby zarejestrowane jako bezrobotne",
    Criterion.LONG_TERM_UNEMPLOYED: "osoby długotrwale bezrobotne",
    Criterion.JOB_SEEKER: "osoby poszukujące pracy",
    Criterion.DISABILITY: "osoby z niepełnosprawnością",
    Criterion.LARGE_FAMILY: "rodziny wielodzietne (3+ dzieci)",
    Criterion.SOCIAL_ASSISTANCE_CLIENT: "osoby korzystające z pomocy społecznej",
    Criterion.SOCIAL_EXCLUSION_RISK: "osoby zagrożone wykluczeniem społecznym",
    Criterion.FAMILY_IN_CRISIS: "rodziny w kryzysie, z trudnościami opiekuńczo-wychowawczymi",
    Criterion.FOSTER_FAMILY: "rodziny zastępcze",
    Criterion.LEAVING_CARE: "osoby usamodzielniane (opuszczające pieczę zastępczą)",
    Criterion.HOMELESSNESS: "osoby w kryzysie bezdomności",
    Criterion.ADDICTION: "osoby uzależnione i ich rodziny",
    Criterion.VIOLENCE_AFFECTED: "osoby doznające przemocy domowej",
    Criterion.SENIOR: "seniorzy",
    Criterion.FOREIGNER: "cudzoziemcy",
    Criterion.EMPLOYER: "pracodawcy",
}


class Weekday(StrEnum):
    """iCalendar day codes, as Open Referral schedules use them."""

    MO = "MO"
    TU = "TU"
    WE = "WE"
    TH = "TH"
    FR = "FR"
    SA = "SA"
    SU = "SU"

    @property
    def label_pl(self) -> str:
        return _WEEKDAY_LABELS[self]


_WEEKDAY_LABELS = {
    Weekday.MO: "poniedziałek",
    Weekday.TU: "wtorek",
    Weekday.WE: "środa",
    Weekday.TH: "czwartek",
    Weekday.FR: "piątek",
    Weekday.SA: "sobota",
    Weekday.SU: "niedziela",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class OpeningHours:
    day: Weekday
    opens: time
    closes: time  # local time in Poland, like the sign on the door


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    id: LocationId
    name: str
    address: Address
    teryt: Teryt  # the gmina (or its town or rural part) where the building stands
    opening_hours: tuple[OpeningHours, ...] = ()
    accessibility: str | None = None  # e.g. "wejście bez progów, winda"


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """An instrument of active integration: a code of LabourMarketInstrument or AssistanceForm."""

    code_list: str
    code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Eligibility:
    description: str
    min_age: int | None = None
    max_age: int | None = None
    criteria: frozenset[Criterion] = frozenset()

    def admits_age(self, age: int) -> bool:
        return (self.min_age is None or self.min_age <= age) and (self.max_age is None or age <= self.max_age)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cost:
    """Free, or a fee in PLN (two decimal places), with a description of who pays what."""

    free: bool = True
    amount: Decimal | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Capacity:
    total: int | None = None
    open_places: int | None = None  # places free now; None when the provider does not say


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceContact:
    email: str | None = None
    phone: str | None = None
    website: str | None = None


# ---------------------------------------------------------------------------------------------
# What a caller gives: plain values, checked by `Service.create` and `Service.revise`
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OpeningHoursData:
    day: str  # MO..SU
    opens: str  # "08:00"
    closes: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationData:
    name: str
    city: str
    teryt: str
    street: str | None = None
    postal_code: str | None = None
    opening_hours: Sequence[OpeningHoursData] = ()
    accessibility: str | None = None
    id: UUID | None = None  # kept when a location is edited or imported again


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceData:
    name: str
    description: str
    category: str
    areas: Sequence[str]
    alternate_name: str | None = None
    instrument_list: str | None = None
    instrument_code: str | None = None
    eligibility_description: str = ""
    min_age: int | None = None
    max_age: int | None = None
    criteria: Sequence[str] = ()
    locations: Sequence[LocationData] = ()
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    application_process: str = ""
    accepts_referrals: bool = True
    free: bool = True
    fee_amount: Decimal | str | None = None
    fee_description: str | None = None
    languages: Sequence[str] = ("pl",)
    capacity_total: int | None = None
    open_places: int | None = None
    status: str = ServiceStatus.ACTIVE.value
    last_verified_on: date | None = None


class _Problems:
    """Collects every broken rule of one service, so an import reports a row's faults at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field_name: str, message: str) -> None:
        self.errors.append(FieldError(field_name, message))

    def check(self, field_name: str, run: Callable[[], object]) -> None:
        """Run a check and record its InvalidInput under `field_name`."""
        try:
            run()
        except InvalidInput as error:
            for e in error.errors or (FieldError(field_name, error.detail),):
                self.add(field_name, e.message)

    def raise_if_any(self) -> None:
        if self.errors:
            summary = "; ".join(f"{e.field}: {e.message}" for e in self.errors[:5])
            raise InvalidInput(f"the service is not valid ({summary})", self.errors)


_LANGUAGE = re.compile(r"[a-z]{2,3}")
_WEBSITE = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
_HOUR = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
MAX_AGE = 130


def _text(problems: _Problems, value: str | None, field_name: str, max_length: int) -> str:
    if value is None or not value.strip():
        problems.add(field_name, "required, not only spaces")
        return ""
    try:
        return clean_text(value, field=field_name, max_length=max_length)
    except InvalidInput as error:
        problems.add(field_name, error.errors[0].message if error.errors else error.detail)
        return ""


def _long_text(problems: _Problems, value: str | None, field_name: str, max_length: int) -> str | None:
    """Free text that keeps its line breaks (descriptions); None when empty."""
    if value is None or not value.strip():
        return None
    text = "\n".join(" ".join(line.split()) for line in value.strip().splitlines())
    if len(text) > max_length:
        problems.add(field_name, f"at most {max_length} characters")
    if any(not c.isprintable() and c != "\n" for c in text):
        problems.add(field_name, "control characters")
    return text


def _teryt(problems: _Problems, raw: str, field_name: str) -> Teryt | None:
    try:
        return Teryt.parse(raw, field=field_name)
    except InvalidInput as error:
        problems.add(field_name, error.errors[0].message if error.errors else error.detail)
        return None


def _hours(problems: _Problems, data: OpeningHoursData, field_name: str) -> OpeningHours | None:
    if data.day not in Weekday.__members__:
        problems.add(f"{field_name}.day", "one of MO, TU, WE, TH, FR, SA, SU")
        return None
    if not (_HOUR.fullmatch(data.opens) and _HOUR.fullmatch(data.closes)):
        problems.add(field_name, "hours look like 08:00")
        return None
    opens, closes = time.fromisoformat(data.opens), time.fromisoformat(data.closes)
    if opens >= closes:
        problems.add(field_name, "opens before it closes")
        return None
    return OpeningHours(day=Weekday(data.day), opens=opens, closes=closes)


def _location(problems: _Problems, data: LocationData, field_name: str) -> Location | None:
    before = len(problems.errors)
    name = _text(problems, data.name, f"{field_name}.name", 200)
    city = _text(problems, data.city, f"{field_name}.city", 100)
    street = _long_text(problems, data.street, f"{field_name}.street", 200)
    address: Address | None = None
    try:
        address = Address(street=street, postal_code=data.postal_code or None, city=city)
    except InvalidInput:
        problems.add(f"{field_name}.postal_code", "a Polish postal code looks like 11-200")
    teryt = _teryt(problems, data.teryt, f"{field_name}.teryt")
    if teryt is not None and teryt.level is not TerytLevel.GMINA:
        problems.add(f"{field_name}.teryt", "a location lies in a gmina: 7 digits")
    hours = [_hours(problems, h, f"{field_name}.opening_hours[{i}]") for i, h in enumerate(data.opening_hours)]
    days = [h.day for h in hours if h is not None]
    if len(days) != len(set(days)):
        problems.add(f"{field_name}.opening_hours", "one entry per day")
    accessibility = _long_text(problems, data.accessibility, f"{field_name}.accessibility", 500)
    if len(problems.errors) > before or address is None or teryt is None:
        return None
    order = list(Weekday)
    return Location(
        id=LocationId(data.id or new_id()),
        name=name,
        address=address,
        teryt=teryt,
        opening_hours=tuple(sorted((h for h in hours if h is not None), key=lambda h: order.index(h.day))),
        accessibility=accessibility,
    )


def _money(problems: _Problems, raw: Decimal | str | None) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        amount = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        problems.add("fee_amount", 'an amount in PLN like "25.00"')
        return None
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -2 or not Decimal(0) <= amount < Decimal(1_000_000):
        problems.add("fee_amount", "a non-negative amount in PLN with at most two decimal places")
        return None
    return amount.quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Checked:
    """The validated parts of a service, before they become one."""

    name: str
    alternate_name: str | None
    description: str
    category: str
    instrument: Instrument | None
    eligibility: Eligibility
    areas: tuple[Teryt, ...]
    locations: tuple[Location, ...]
    contact: ServiceContact
    application_process: str
    accepts_referrals: bool
    cost: Cost
    languages: tuple[str, ...]
    capacity: Capacity
    status: ServiceStatus
    last_verified_on: date | None


def _check(data: ServiceData, codes: CodeLists, on: date) -> _Checked:
    p = _Problems()
    name = _text(p, data.name, "name", 300)
    alternate_name = _long_text(p, data.alternate_name, "alternate_name", 300)
    description = _long_text(p, data.description, "description", 5000) or ""
    if not description:
        p.add("description", "required, not only spaces")
    p.check("category", lambda: codes.require(CATEGORY_LIST, data.category, field="category", on=on))
    instrument: Instrument | None = None
    if data.instrument_list or data.instrument_code:
        if data.instrument_list not in INSTRUMENT_LISTS or not data.instrument_code:
            p.add("instrument", f"a code of {' or '.join(INSTRUMENT_LISTS)}")
        else:
            code_list, code = data.instrument_list, data.instrument_code
            p.check("instrument.code", lambda: codes.require(code_list, code, field="instrument.code", on=on))
            instrument = Instrument(code_list=code_list, code=code)
    for bound, value in (("min_age", data.min_age), ("max_age", data.max_age)):
        if value is not None and not 0 <= value <= MAX_AGE:
            p.add(bound, f"an age from 0 to {MAX_AGE}")
    if data.min_age is not None and data.max_age is not None and data.min_age > data.max_age:
        p.add("max_age", "not below min_age")
    criteria: set[Criterion] = set()
    for i, raw in enumerate(data.criteria):
        if raw in Criterion.__members__:
            criteria.add(Criterion(raw))
        else:
            p.add(f"criteria[{i}]", f"'{raw}' is not an eligibility criterion")
    areas = [_teryt(p, raw, f"areas[{i}]") for i, raw in enumerate(data.areas)]
    if not data.areas:
        p.add("areas", "at least one TERYT code of a gmina, powiat or voivodeship served")
    unique_areas = tuple(dict.fromkeys(a for a in areas if a is not None))
    if len(data.locations) > 20:
        p.add("locations", "at most 20 locations")
    locations = tuple(loc for i, raw in enumerate(data.locations[:20]) if (loc := _location(p, raw, f"locations[{i}]")))
    if len({loc.id for loc in locations}) != len(locations):
        p.add("locations", "each location has its own id")
    contact = ServiceContact()
    try:
        checked = Contact(email=data.email or None, phone=data.phone or None)
        contact = ServiceContact(email=checked.email, phone=checked.phone, website=data.website or None)
    except InvalidInput as error:
        for e in error.errors:
            p.add(e.field.removeprefix("contact."), e.message)
    if data.website and (len(data.website) > 500 or not _WEBSITE.fullmatch(data.website)):
        p.add("website", "an http(s) address")
    fee = _money(p, data.fee_amount)
    if data.free and fee not in (None, Decimal("0.00")):
        p.add("fee_amount", "a free service has no fee")
    languages = tuple(dict.fromkeys(code.strip().lower() for code in data.languages if code.strip()))
    for i, code in enumerate(languages):
        if not _LANGUAGE.fullmatch(code):
            p.add(f"languages[{i}]", "an ISO 639 language code such as pl, uk, en")
    for bound, value in (("capacity_total", data.capacity_total), ("open_places", data.open_places)):
        if value is not None and not 0 <= value <= 100_000:
            p.add(bound, "a number of places from 0")
    if data.capacity_total is not None and data.open_places is not None and data.open_places > data.capacity_total:
        p.add("open_places", "not more than the capacity")
    if data.status not in {s.value for s in ServiceStatus}:
        p.add("status", f"one of {', '.join(s.value for s in ServiceStatus)}")
    if data.last_verified_on is not None and data.last_verified_on > on:
        p.add("last_verified_on", "not in the future")
    eligibility_description = _long_text(p, data.eligibility_description, "eligibility_description", 2000)
    application_process = _long_text(p, data.application_process, "application_process", 3000)
    fee_description = _long_text(p, data.fee_description, "fee_description", 1000)
    p.raise_if_any()
    return _Checked(
        name=name,
        alternate_name=alternate_name,
        description=description,
        category=data.category,
        instrument=instrument,
        eligibility=Eligibility(
            description=eligibility_description or "",
            min_age=data.min_age,
            max_age=data.max_age,
            criteria=frozenset(criteria),
        ),
        areas=unique_areas,
        locations=locations,
        contact=contact,
        application_process=application_process or "",
        accepts_referrals=data.accepts_referrals,
        cost=Cost(
            free=data.free,
            amount=None if data.free else fee,
            description=fee_description,
        ),
        languages=languages or ("pl",),
        capacity=Capacity(total=data.capacity_total, open_places=data.open_places),
        status=ServiceStatus(data.status),
        last_verified_on=data.last_verified_on,
    )


# ---------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Service:
    id: ServiceId
    institution_id: InstitutionId
    name: str
    alternate_name: str | None
    description: str
    category: str
    instrument: Instrument | None
    eligibility: Eligibility
    areas: tuple[Teryt, ...]
    locations: tuple[Location, ...]
    contact: ServiceContact
    application_process: str
    accepts_referrals: bool
    cost: Cost
    languages: tuple[str, ...]
    capacity: Capacity
    status: ServiceStatus
    last_verified_on: date | None
    # Words a person may search by that the name and description need not contain: the Polish
    # names of the category and instrument, and the towns of the locations.
    keywords: str
    created_at: datetime
    updated_at: datetime
    version: int = 1

    @classmethod
    def create(
        cls,
        data: ServiceData,
        *,
        id: ServiceId,
        institution_id: InstitutionId,
        codes: CodeLists,
        at: datetime,
    ) -> Service:
        checked = _check(data, codes, local_date(at))
        return cls(
            id=id,
            institution_id=institution_id,
            name=checked.name,
            alternate_name=checked.alternate_name,
            description=checked.description,
            category=checked.category,
            instrument=checked.instrument,
            eligibility=checked.eligibility,
            areas=checked.areas,
            locations=checked.locations,
            contact=checked.contact,
            application_process=checked.application_process,
            accepts_referrals=checked.accepts_referrals,
            cost=checked.cost,
            languages=checked.languages,
            capacity=checked.capacity,
            status=checked.status,
            last_verified_on=checked.last_verified_on,
            keywords=_keywords(checked, codes, local_date(at)),
            created_at=at,
            updated_at=at,
        )

    def revise(self, data: ServiceData, *, codes: CodeLists, at: datetime) -> None:
        """Replace what the provider says about the service; its id, institution and history stay."""
        checked = _check(data, codes, local_date(at))
        self.name = checked.name
        self.alternate_name = checked.alternate_name
        self.description = checked.description
        self.category = checked.category
        self.instrument = checked.instrument
        self.eligibility = checked.eligibility
        self.areas = checked.areas
        self.locations = checked.locations
        self.contact = checked.contact
        self.application_process = checked.application_process
        self.accepts_referrals = checked.accepts_referrals
        self.cost = checked.cost
        self.languages = checked.languages
        self.capacity = checked.capacity
        self.status = checked.status
        self.last_verified_on = checked.last_verified_on
        self.keywords = _keywords(checked, codes, local_date(at))
        self.touch(at)

    def touch(self, at: datetime) -> None:
        self.updated_at = at
        self.version += 1

    @property
    def listed(self) -> bool:
        """Found by search and shown on the public page."""
        return self.status in LISTED_STATUSES

    def serves(self, place: Teryt) -> bool:
        return serves(self.areas, place)

    def admits(self, *, age: int | None = None, criteria: Iterable[Criterion] = ()) -> bool:
        """True when the service is meant for every group named and the age lies in its range."""
        return (age is None or self.eligibility.admits_age(age)) and set(criteria) <= self.eligibility.criteria


def _keywords(checked: _Checked, codes: CodeLists, on: date) -> str:
    words = [codes.require(CATEGORY_LIST, checked.category, field="category", on=on).name_pl]
    if checked.instrument is not None:
        instrument = checked.instrument
        words.append(codes.require(instrument.code_list, instrument.code, field="instrument.code", on=on).name_pl)
    words.extend(dict.fromkeys(loc.address.city for loc in checked.locations if loc.address.city))
    return " ".join(words)


# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceQuery:
    """A search of the directory. Every filter given must hold; within a filter any value may."""

    text: str | None = None
    categories: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()  # instrument codes, of either list
    institution_kinds: tuple[str, ...] = ()  # InstitutionType codes
    criteria: tuple[Criterion, ...] = ()  # the service is meant for all of these groups
    age: int | None = None  # the person's age lies in the service's range
    place: Teryt | None = None  # the service serves this place (see `serves`)
    institution_id: InstitutionId | None = None
    with_open_places: bool = False
    statuses: tuple[ServiceStatus, ...] = LISTED_STATUSES

    @property
    def terms(self) -> tuple[str, ...]:
        return search_terms(self.text) if self.text else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchPosition:
    """Where a page of results ends: by relevance (higher first), then folded name, then id."""

    score: float
    name_key: str
    id: ServiceId


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchRequest:
    limit: int = 20
    after: SearchPosition | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchHit:
    service: Service
    score: float
    name_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchPage:
    hits: Sequence[SearchHit]
    next_after: SearchPosition | None


def name_key(name: str) -> str:
    """The key results with equal relevance are sorted by: the folded name."""
    return fold(name)[:300]


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """A place the directory knows by name: where some service's location stands."""

    teryt: Teryt
    name: str

    @property
    def label(self) -> str:
        kind = self.teryt.value[6] if self.teryt.level is TerytLevel.GMINA else ""
        return f"{self.name} ({GMINA_KINDS[kind]})" if kind in ("2", "5") else self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralTarget:
    """Who receives a referral naming a directory service: the service's institution."""

    service_id: ServiceId
    institution_id: InstitutionId
    instrument: Instrument | None
    category: str


# ---------------------------------------------------------------------------------------------
# Ports of the directory's storage (here, not in ports.py, until the wiring; see WIRING-directory.md)
# ---------------------------------------------------------------------------------------------


class ServiceLookup(Protocol):
    async def get(self, service_id: ServiceId) -> Service | None:
        """The service, or None."""


class ServiceRepository(ServiceLookup, Protocol):
    async def add(self, service: Service) -> None:
        """Store a new service with its areas, criteria and locations; DuplicateRecord when the id is taken."""

    async def get_many(self, ids: Sequence[ServiceId]) -> list[Service]:
        """The services with these ids that exist, in no particular order."""

    async def update(self, service: Service, *, expected_version: int) -> None:
        """Save the service and replace its areas, criteria and locations; StaleVersion when someone saved first."""

    async def search(self, query: ServiceQuery, request: SearchRequest) -> SearchPage:
        """Services matching every filter, most relevant first (then by folded name and id)."""

    async def batch(
        self, *, institution_id: InstitutionId | None, after: ServiceId | None, limit: int
    ) -> list[Service]:
        """Listed services in id order after `after`, of one institution or all: the export reads in batches."""

    async def places(self) -> list[Place]:
        """Where the locations of listed services stand, one entry per TERYT code and town."""

    async def location_owners(self, ids: Sequence[LocationId]) -> dict[LocationId, ServiceId]:
        """The service each of these location ids belongs to, for those in use."""
