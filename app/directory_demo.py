"""The demo county's directory of services: powiat bartoszycki (warmińsko-mazurskie), 45 services of
its OPS, PCPR, PUP, CIS, KIS and NGOs, as a county "informator" would list them.

The institutions of app.demo (MOPS, PUP, NGO and PCPR of Bartoszyce) are joined by the county's
other social-assistance centres, a CIS, a KIS and four NGOs. Names of NGOs, addresses, phones and
e-mails are fictitious; the kinds of services, their rules and the TERYT codes are the real ones:

    2801     powiat bartoszycki
    2801011  Bartoszyce (gmina miejska)         2801052  Górowo Iławeckie (gmina wiejska)
    2801021  Górowo Iławeckie (gmina miejska)   2801063  Sępopol (gmina miejsko-wiejska; 4 town, 5 rural)
    2801032  Bartoszyce (gmina wiejska)
    2801043  Bisztynek (gmina miejsko-wiejska; 2801044 town, 2801045 rural area)

(app.demo gives its institutions 2802..., the code of the neighbouring powiat braniewski; see
WIRING-directory.md.) Seeding twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid5

from app import demo
from app.adapters.db.directory_repository import SqlDirectoryStore
from app.bootstrap import Container
from app.domain.directory import LocationData, OpeningHoursData, ServiceData, ServiceId
from app.domain.ids import InstitutionId
from app.domain.services import directory as directory_use
from app.domain.services import institutions
from app.domain.values import Address, Contact

POWIAT = "2801"
BARTOSZYCE = "2801011"
GOROWO_TOWN = "2801021"
BARTOSZYCE_RURAL = "2801032"
BISZTYNEK = "2801043"
BISZTYNEK_TOWN = "2801044"
GOROWO_RURAL = "2801052"
SEPOPOL = "2801063"
SEPOPOL_TOWN = "2801064"
WHOLE_COUNTY = (POWIAT,)

_NAMESPACE = UUID("6f1e5a52-3c1b-4c55-9a57-0d1f3b1c2a90")


def _institution_id(n: int) -> InstitutionId:
    return InstitutionId(UUID(f"00000000-0000-4000-8000-{n:012d}"))


@dataclass(frozen=True, slots=True)
class Provider:
    key: str
    id: InstitutionId
    data: institutions.InstitutionData


OPS = Provider("ops", demo.by_key("ops").id, demo.by_key("ops").data)
PUP = Provider("pup", demo.by_key("pup").id, demo.by_key("pup").data)
NGO_RAZEM = Provider("ngo", demo.by_key("ngo").id, demo.by_key("ngo").data)
PCPR = Provider("pcpr", demo.by_key("pcpr").id, demo.by_key("pcpr").data)


def _provider(key: str, n: int, kind: str, name: str, teryt: str, street: str, postal: str, city: str) -> Provider:
    return Provider(
        key,
        _institution_id(n),
        institutions.InstitutionData(
            type=kind,
            name=name,
            teryt=teryt,
            address=Address(street=street, postal_code=postal, city=city),
            contact=Contact(email=f"kontakt@{key}.example.pl", phone=f"+48 89 000 1{n:03d}"),
        ),
    )


GOPS_BARTOSZYCE = _provider(
    "gops-bartoszyce",
    11,
    "GOPS",
    "Gminny Ośrodek Pomocy Społecznej w Bartoszycach",
    BARTOSZYCE_RURAL,
    "ul. Warszawska 8",
    "11-200",
    "Bartoszyce",
)
MGOPS_BISZTYNEK = _provider(
    "mgops-bisztynek",
    12,
    "MGOPS",
    "Miejsko-Gminny Ośrodek Pomocy Społecznej w Bisztynku",
    BISZTYNEK,
    "ul. Kościuszki 2",
    "11-230",
    "Bisztynek",
)
MGOPS_SEPOPOL = _provider(
    "mgops-sepopol",
    13,
    "MGOPS",
    "Miejsko-Gminny Ośrodek Pomocy Społecznej w Sępopolu",
    SEPOPOL,
    "ul. 11 Listopada 9",
    "11-210",
    "Sępopol",
)
MOPS_GOROWO = _provider(
    "mops-gorowo",
    14,
    "MOPS",
    "Miejski Ośrodek Pomocy Społecznej w Górowie Iławeckim",
    GOROWO_TOWN,
    "ul. Kopernika 1",
    "11-220",
    "Górowo Iławeckie",
)
GOPS_GOROWO = _provider(
    "gops-gorowo",
    15,
    "GOPS",
    "Gminny Ośrodek Pomocy Społecznej w Górowie Iławeckim",
    GOROWO_RURAL,
    "ul. Kościuszki 17",
    "11-220",
    "Górowo Iławeckie",
)
CIS = _provider(
    "cis",
    16,
    "CIS",
    "Centrum Integracji Społecznej „Nowy Start” w Bartoszycach",
    BARTOSZYCE,
    "ul. Przemysłowa 6",
    "11-200",
    "Bartoszyce",
)
KIS = _provider(
    "kis",
    17,
    "KIS",
    "Klub Integracji Społecznej przy MOPS w Bartoszycach",
    BARTOSZYCE,
    "ul. Kętrzyńska 1",
    "11-200",
    "Bartoszyce",
)
NGO_SZANSA = _provider(
    "szansa",
    18,
    "NGO",
    "Stowarzyszenie na rzecz Osób z Niepełnosprawnościami „Szansa”",
    BARTOSZYCE,
    "ul. Szkolna 4",
    "11-200",
    "Bartoszyce",
)
NGO_KROK = _provider(
    "krok",
    19,
    "NGO",
    "Stowarzyszenie Trzeźwościowe „Krok”",
    BARTOSZYCE,
    "ul. Mickiewicza 12",
    "11-200",
    "Bartoszyce",
)
NGO_PARAGRAF = _provider(
    "paragraf",
    20,
    "NGO",
    "Fundacja Poradnictwa Obywatelskiego „Paragraf”",
    BARTOSZYCE,
    "ul. Jana Pawła II 3",
    "11-200",
    "Bartoszyce",
)
NGO_MOST = _provider(
    "most",
    21,
    "NGO",
    "Fundacja „Most” – wsparcie cudzoziemców",
    BARTOSZYCE,
    "ul. Bema 7",
    "11-200",
    "Bartoszyce",
)

PROVIDERS = (
    OPS,
    PUP,
    NGO_RAZEM,
    PCPR,
    GOPS_BARTOSZYCE,
    MGOPS_BISZTYNEK,
    MGOPS_SEPOPOL,
    MOPS_GOROWO,
    GOPS_GOROWO,
    CIS,
    KIS,
    NGO_SZANSA,
    NGO_KROK,
    NGO_PARAGRAF,
    NGO_MOST,
)

_OFFICE = ("MO-FR", "07:30", "15:30")
_PUP_HOURS = ("MO-FR", "07:30", "15:00")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    street: str
    postal_code: str
    city: str
    teryt: str
    hours: Sequence[tuple[str, str, str]] = (_OFFICE,)
    accessibility: str | None = None


def _hours(spec: Sequence[tuple[str, str, str]]) -> list[OpeningHoursData]:
    found: list[OpeningHoursData] = []
    for days, opens, closes in spec:
        first, _, last = days.partition("-")
        span = _DAYS[_DAYS.index(first) : _DAYS.index(last or first) + 1]
        found.extend(OpeningHoursData(day=d, opens=opens, closes=closes) for d in span)
    return found


MOPS_OFFICE = Place(
    "Siedziba MOPS",
    "ul. Kętrzyńska 1",
    "11-200",
    "Bartoszyce",
    BARTOSZYCE,
    accessibility="wejście od podwórza bez schodów, toaleta dla osób z niepełnosprawnością",
)
PUP_OFFICE = Place(
    "Siedziba PUP",
    "ul. Limanowskiego 9",
    "11-200",
    "Bartoszyce",
    BARTOSZYCE,
    (_PUP_HOURS,),
    "winda, pętla indukcyjna przy stanowisku obsługi",
)
PUP_GOROWO = Place(
    "Punkt obsługi PUP w Górowie Iławeckim",
    "ul. Kopernika 1",
    "11-220",
    "Górowo Iławeckie",
    GOROWO_TOWN,
    (("TU", "08:00", "14:00"), ("TH", "08:00", "14:00")),
)
PCPR_OFFICE = Place(
    "Siedziba PCPR",
    "ul. Grunwaldzka 2",
    "11-200",
    "Bartoszyce",
    BARTOSZYCE,
    accessibility="parter, podjazd dla wózków",
)
RAZEM_CLUB = Place(
    "Świetlica stowarzyszenia",
    "ul. Bohaterów Monte Cassino 5",
    "11-200",
    "Bartoszyce",
    BARTOSZYCE,
    (("MO-FR", "13:00", "18:00"),),
)


# Where each office stands: a rural gmina's centre often has its seat in the town next door, and an
# urban-rural gmina's seat is in its town part (type 4).
_OFFICE_TERYT = {
    "gops-bartoszyce": BARTOSZYCE,
    "mgops-bisztynek": BISZTYNEK_TOWN,
    "mgops-sepopol": SEPOPOL_TOWN,
    "gops-gorowo": GOROWO_TOWN,
}


def _office(p: Provider, hours: Sequence[tuple[str, str, str]] = (_OFFICE,), name: str = "Siedziba") -> Place:
    address = p.data.address
    teryt = _OFFICE_TERYT.get(p.key, p.data.teryt)
    return Place(name, address.street or "", address.postal_code or "", address.city or "", teryt, hours)


@dataclass(frozen=True, slots=True)
class DemoService:
    n: int
    provider: Provider
    name: str
    description: str
    category: str
    areas: Sequence[str]
    places: Sequence[Place]
    how: str
    instrument: tuple[str, str] | None = None
    eligibility: str = ""
    criteria: Sequence[str] = ()
    ages: tuple[int | None, int | None] = (None, None)
    phone: str | None = None
    email: str | None = None
    fee: str | None = None  # None: free
    fee_note: str | None = None
    languages: Sequence[str] = ("pl",)
    capacity: tuple[int | None, int | None] = (None, None)
    referrals: bool = True
    status: str = "active"
    verified: date = date(2026, 10, 15)
    website: str | None = None
    free: bool | None = None  # None: free unless a fee is given

    @property
    def id(self) -> ServiceId:
        return ServiceId(UUID(f"00000000-0000-4000-9000-{self.n:012d}"))

    def data(self) -> ServiceData:
        return ServiceData(
            name=self.name,
            description=self.description,
            category=self.category,
            instrument_list=self.instrument[0] if self.instrument else None,
            instrument_code=self.instrument[1] if self.instrument else None,
            eligibility_description=self.eligibility,
            min_age=self.ages[0],
            max_age=self.ages[1],
            criteria=self.criteria,
            areas=self.areas,
            locations=[
                LocationData(
                    id=uuid5(_NAMESPACE, f"{self.id}/{i}"),
                    name=p.name,
                    street=p.street,
                    postal_code=p.postal_code,
                    city=p.city,
                    teryt=p.teryt,
                    opening_hours=_hours(p.hours),
                    accessibility=p.accessibility,
                )
                for i, p in enumerate(self.places)
            ],
            email=self.email or _email(self.provider),
            phone=self.phone or _phone(self.provider),
            website=self.website,
            application_process=self.how,
            accepts_referrals=self.referrals,
            free=self.fee is None if self.free is None else self.free,
            fee_amount=self.fee,
            fee_description=self.fee_note,
            languages=self.languages,
            capacity_total=self.capacity[0],
            open_places=self.capacity[1],
            status=self.status,
            last_verified_on=self.verified,
        )


def _email(p: Provider) -> str | None:
    return p.data.contact.email


def _phone(p: Provider) -> str | None:
    # The demo MOPS, PUP, NGO and PCPR have no phone of their own in app.demo for every one of them.
    return p.data.contact.phone or f"+48 89 000 20 {PROVIDERS.index(p):02d}"


LMI = "LabourMarketInstrument"
AF = "AssistanceForm"
PUP_REGISTERED = "Osoby zarejestrowane w Powiatowym Urzędzie Pracy w Bartoszycach jako bezrobotne."
PUP_HOW = (
    "Umów wizytę u swojego doradcy klienta w PUP (osobiście, telefonicznie lub przez praca.gov.pl). "
    "Wniosek składa się na formularzu urzędu; doradca pomoże go wypełnić."
)

SERVICES: tuple[DemoService, ...] = (
    # --- Powiatowy Urząd Pracy: vocational instruments -------------------------------------
    DemoService(
        1,
        PUP,
        "Pośrednictwo pracy",
        "Pomoc w znalezieniu zatrudnienia: oferty pracy z powiatu i całego kraju, giełdy i targi pracy, "
        "kontakt z pracodawcami. Pośrednik pracy dobiera oferty do kwalifikacji i możliwości dojazdu.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE, PUP_GOROWO),
        "Zgłoś się do PUP z dowodem osobistym. Osoby zarejestrowane umawiają wizytę u doradcy klienta; "
        "oferty są też dostępne bez rejestracji na tablicy ogłoszeń i w internecie.",
        instrument=(LMI, "JOB_PLACEMENT"),
        eligibility="Osoby bezrobotne i poszukujące pracy, także cudzoziemcy z prawem do pracy.",
        criteria=("REGISTERED_UNEMPLOYED", "JOB_SEEKER"),
        languages=("pl", "uk", "en"),
    ),
    DemoService(
        2,
        PUP,
        "Poradnictwo zawodowe i informacja zawodowa",
        "Rozmowa z doradcą zawodowym: wybór zawodu, zmiana kwalifikacji, testy predyspozycji, przygotowanie "
        "CV i do rozmowy kwalifikacyjnej. Zajęcia indywidualne i grupowe warsztaty aktywizacyjne.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        "Zapisy w pokoju doradców zawodowych lub telefonicznie. Ośrodek pomocy społecznej może skierować klienta "
        "na poradnictwo w ramach kontraktu socjalnego.",
        instrument=(LMI, "CAREER_GUIDANCE"),
        eligibility="Osoby bezrobotne, poszukujące pracy, a także uczniowie szkół z powiatu.",
        criteria=("REGISTERED_UNEMPLOYED",),
        ages=(15, None),
    ),
    DemoService(
        3,
        PUP,
        "Staże u pracodawców",
        "Staż trwa od 3 do 6 miesięcy (do 12 dla osób do 30. roku życia) i pozwala zdobyć doświadczenie zawodowe "
        "u pracodawcy. W czasie stażu przysługuje stypendium stażowe wypłacane przez PUP.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        PUP_HOW + " Pracodawca może sam zgłosić kandydata na staż.",
        instrument=(LMI, "INTERNSHIP"),
        eligibility=PUP_REGISTERED,
        criteria=("REGISTERED_UNEMPLOYED",),
        ages=(18, None),
        capacity=(60, 12),
    ),
    DemoService(
        4,
        PUP,
        "Bon stażowy dla osób do 30 roku życia",
        "Bon gwarantuje staż u wskazanego przez Ciebie pracodawcy, który zobowiąże się zatrudnić Cię po stażu "
        "na 6 miesięcy; obejmuje też koszty przejazdu i badań lekarskich.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        PUP_HOW,
        instrument=(LMI, "INTERNSHIP_VOUCHER"),
        eligibility=PUP_REGISTERED + " Do ukończenia 30 lat.",
        criteria=("REGISTERED_UNEMPLOYED",),
        ages=(18, 29),
        capacity=(15, 3),
    ),
    DemoService(
        5,
        PUP,
        "Szkolenia zawodowe",
        "Kursy podnoszące kwalifikacje: operator wózków widłowych, kucharz, opiekun osoby starszej, kadry i płace, "
        "prawo jazdy kat. C. PUP pokrywa koszt szkolenia i wypłaca stypendium szkoleniowe.",
        "EDUCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        PUP_HOW + " Przed skierowaniem na szkolenie obowiązkowa jest rozmowa z doradcą zawodowym.",
        instrument=(LMI, "TRAINING"),
        eligibility=PUP_REGISTERED,
        criteria=("REGISTERED_UNEMPLOYED",),
        capacity=(40, 8),
    ),
    DemoService(
        6,
        PUP,
        "Prace interwencyjne",
        "Zatrudnienie u pracodawcy, któremu PUP zwraca część kosztów wynagrodzenia przez 6–12 miesięcy. "
        "Dobry sposób na powrót do pracy po długiej przerwie.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        PUP_HOW,
        instrument=(LMI, "INTERVENTION_WORK"),
        eligibility=PUP_REGISTERED + " Pierwszeństwo mają osoby długotrwale bezrobotne i powyżej 50 lat.",
        criteria=("REGISTERED_UNEMPLOYED", "LONG_TERM_UNEMPLOYED"),
    ),
    DemoService(
        7,
        PUP,
        "Roboty publiczne",
        "Zatrudnienie przy pracach organizowanych przez gminy i organizacje pozarządowe (porządkowe, remontowe, "
        "opiekuńcze), finansowanych częściowo przez PUP.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        PUP_HOW,
        instrument=(LMI, "PUBLIC_WORKS"),
        eligibility=PUP_REGISTERED,
        criteria=("REGISTERED_UNEMPLOYED", "LONG_TERM_UNEMPLOYED"),
        capacity=(25, 0),
    ),
    DemoService(
        8,
        PUP,
        "Prace społecznie użyteczne",
        "Praca do 40 godzin w miesiącu na rzecz gminy (np. w MOPS, szkole, bibliotece) za świadczenie "
        "wypłacane przez gminę i częściowo refundowane przez PUP. Organizowane wspólnie z ośrodkiem pomocy "
        "społecznej.",
        "VOCATIONAL",
        (BARTOSZYCE, BARTOSZYCE_RURAL),
        (PUP_OFFICE, MOPS_OFFICE),
        "Kieruje PUP na wniosek ośrodka pomocy społecznej, zwykle w ramach kontraktu socjalnego. "
        "Porozmawiaj ze swoim pracownikiem socjalnym.",
        instrument=(LMI, "SOCIALLY_USEFUL_WORK"),
        eligibility="Osoby bezrobotne bez prawa do zasiłku, korzystające ze świadczeń pomocy społecznej.",
        criteria=("REGISTERED_UNEMPLOYED", "SOCIAL_ASSISTANCE_CLIENT"),
    ),
    DemoService(
        9,
        PUP,
        "Jednorazowe środki na podjęcie działalności gospodarczej",
        "Dotacja na założenie własnej firmy, do sześciokrotności przeciętnego wynagrodzenia. Wymaga biznesplanu "
        "i zabezpieczenia zwrotu; działalność trzeba prowadzić co najmniej 12 miesięcy.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        "Wniosek w naborze ogłaszanym przez PUP (zwykle w lutym i wrześniu). Przed złożeniem warto skorzystać "
        "z konsultacji z doradcą zawodowym.",
        instrument=(LMI, "STARTUP_GRANT"),
        eligibility=PUP_REGISTERED,
        criteria=("REGISTERED_UNEMPLOYED",),
        referrals=False,
    ),
    DemoService(
        10,
        PUP,
        "Refundacja kosztów wyposażenia stanowiska pracy",
        "Zwrot pracodawcy kosztów wyposażenia lub doposażenia stanowiska pracy dla skierowanej osoby bezrobotnej.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        "Wniosek składa pracodawca w naborze PUP.",
        instrument=(LMI, "WORKSTATION_REFUND"),
        eligibility="Pracodawcy i przedsiębiorcy z powiatu zatrudniający osoby bezrobotne.",
        criteria=("EMPLOYER",),
        referrals=False,
    ),
    DemoService(
        11,
        PUP,
        "Dofinansowanie zatrudnienia osób powyżej 50 roku życia",
        "Pracodawca zatrudniający bezrobotnego w wieku 50+ otrzymuje dofinansowanie wynagrodzenia przez 12 lub "
        "24 miesiące.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        "Wniosek składa pracodawca; osoba bezrobotna może zapytać o ten instrument swojego doradcę klienta.",
        instrument=(LMI, "WAGE_SUBSIDY_50PLUS"),
        eligibility=PUP_REGISTERED + " Wiek powyżej 50 lat.",
        criteria=("REGISTERED_UNEMPLOYED",),
        ages=(50, None),
    ),
    DemoService(
        12,
        PUP,
        "Krajowy Fundusz Szkoleniowy",
        "Dofinansowanie kształcenia ustawicznego pracowników i pracodawców: kursy, studia podyplomowe, egzaminy.",
        "EDUCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        "Wniosek składa pracodawca w naborze ogłaszanym przez PUP.",
        instrument=(LMI, "KFS"),
        eligibility="Pracodawcy z powiatu i ich pracownicy.",
        criteria=("EMPLOYER",),
        referrals=False,
    ),
    DemoService(
        13,
        PUP,
        "Indywidualny plan działania",
        "Plan powrotu do pracy ustalany z doradcą klienta: kolejne kroki, szkolenia, staże i terminy. "
        "Podstawa współpracy z urzędem i z ośrodkiem pomocy społecznej.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        "Plan przygotowuje doradca klienta po rejestracji w PUP.",
        instrument=(LMI, "IPD"),
        eligibility=PUP_REGISTERED,
        criteria=("REGISTERED_UNEMPLOYED",),
    ),
    DemoService(
        14,
        PUP,
        "Zwrot kosztów dojazdu i opieki nad dzieckiem",
        "Zwrot kosztów przejazdu do pracy, na staż lub szkolenie oraz kosztów opieki nad dzieckiem do lat 7 lub "
        "osobą zależną.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        PUP_HOW,
        instrument=(LMI, "TRAVEL_CARE_REFUND"),
        eligibility=PUP_REGISTERED,
        criteria=("REGISTERED_UNEMPLOYED", "LARGE_FAMILY"),
    ),
    DemoService(
        15,
        PUP,
        "Badania lekarskie przed podjęciem pracy lub szkolenia",
        "PUP kieruje na badania lekarskie i psychologiczne potrzebne do podjęcia pracy, stażu lub szkolenia "
        "i pokrywa ich koszt.",
        "HEALTH",
        WHOLE_COUNTY,
        (PUP_OFFICE,),
        "Skierowanie wydaje doradca klienta razem z ofertą pracy, stażu lub szkolenia.",
        eligibility=PUP_REGISTERED,
        criteria=("REGISTERED_UNEMPLOYED",),
    ),
    # --- MOPS Bartoszyce ----------------------------------------------------------------------
    DemoService(
        16,
        OPS,
        "Praca socjalna",
        "Pracownik socjalny pomaga rodzinie i osobie w trudnej sytuacji: rozpoznaje potrzeby, pomaga załatwić "
        "sprawy w urzędach, motywuje do zmiany, łączy z innymi instytucjami.",
        "SOCIAL",
        (BARTOSZYCE,),
        (MOPS_OFFICE,),
        "Przyjdź do MOPS lub zadzwoń; pracownik socjalny umówi się na rozmowę, także w domu. Nie trzeba "
        "spełniać kryterium dochodowego.",
        instrument=(AF, "SOCIAL_WORK"),
        eligibility="Mieszkańcy Bartoszyc w trudnej sytuacji życiowej, bez względu na dochód.",
        languages=("pl", "uk"),
    ),
    DemoService(
        17,
        OPS,
        "Zasiłek okresowy",
        "Świadczenie pieniężne dla osób i rodzin o niskich dochodach, zwłaszcza z powodu bezrobocia, "
        "niepełnosprawności lub długotrwałej choroby.",
        "SOCIAL",
        (BARTOSZYCE,),
        (MOPS_OFFICE,),
        "Złóż wniosek w MOPS; pracownik socjalny przeprowadzi wywiad środowiskowy. Decyzja w ciągu miesiąca.",
        instrument=(AF, "PERIODIC_ALLOWANCE"),
        eligibility="Dochód poniżej kryterium z ustawy o pomocy społecznej.",
        criteria=("SOCIAL_ASSISTANCE_CLIENT",),
        referrals=False,
    ),
    DemoService(
        18,
        OPS,
        "Zasiłek celowy",
        "Pomoc na konkretny cel: zakup żywności, leków, opału, odzieży, niezbędnych przedmiotów użytku domowego "
        "lub pokrycie kosztów leczenia.",
        "SOCIAL",
        (BARTOSZYCE,),
        (MOPS_OFFICE,),
        "Wniosek w MOPS z uzasadnieniem potrzeby; w nagłych sytuacjach pomoc może być przyznana od razu.",
        instrument=(AF, "PURPOSE_ALLOWANCE"),
        eligibility="Osoby i rodziny w trudnej sytuacji, zwykle z dochodem poniżej kryterium.",
        criteria=("SOCIAL_ASSISTANCE_CLIENT",),
        referrals=False,
    ),
    DemoService(
        19,
        OPS,
        "Asystent rodziny",
        "Asystent rodziny pracuje z rodziną w domu: pomaga w opiece nad dziećmi, prowadzeniu gospodarstwa, "
        "planowaniu budżetu i kontaktach ze szkołą.",
        "SOCIAL",
        (BARTOSZYCE,),
        (MOPS_OFFICE,),
        "Asystenta przydziela MOPS na wniosek pracownika socjalnego, za zgodą rodziny. Może też wnioskować sąd "
        "rodzinny lub szkoła.",
        eligibility="Rodziny z dziećmi przeżywające trudności opiekuńczo-wychowawcze.",
        criteria=("FAMILY_IN_CRISIS", "LARGE_FAMILY"),
        capacity=(36, 2),
    ),
    DemoService(
        20,
        OPS,
        "Usługi opiekuńcze w domu",
        "Pomoc w codziennych czynnościach, higienie i pielęgnacji dla osób, które z powodu wieku lub choroby "
        "wymagają pomocy, a rodzina nie może jej zapewnić.",
        "SOCIAL",
        (BARTOSZYCE,),
        (MOPS_OFFICE,),
        "Wniosek w MOPS z zaświadczeniem lekarskim o stanie zdrowia.",
        instrument=(AF, "CARE_SERVICES"),
        eligibility="Osoby samotne lub rodziny, które nie mogą zapewnić opieki.",
        criteria=("SENIOR", "DISABILITY"),
        fee="18.50",
        fee_note="Za godzinę; odpłatność zależy od dochodu, osoby z dochodem poniżej kryterium nie płacą.",
    ),
    DemoService(
        21,
        OPS,
        "Posiłek dla dzieci w szkole i przedszkolu",
        "Bezpłatny ciepły posiłek dla dzieci i młodzieży w szkołach i przedszkolach (program „Posiłek w szkole "
        "i w domu”).",
        "SOCIAL",
        (BARTOSZYCE,),
        (MOPS_OFFICE,),
        "Wniosek rodzica w MOPS albo zgłoszenie dyrektora szkoły.",
        instrument=(AF, "MEAL"),
        eligibility="Dzieci z rodzin z dochodem do 200% kryterium pomocy społecznej.",
        criteria=("LARGE_FAMILY", "SOCIAL_ASSISTANCE_CLIENT"),
        ages=(3, 18),
        referrals=False,
    ),
    DemoService(
        22,
        OPS,
        "Kontrakt socjalny",
        "Pisemna umowa pracownika socjalnego z osobą lub rodziną: wspólnie ustalone kroki wyjścia z trudnej "
        "sytuacji, np. podjęcie zatrudnienia przy wsparciu PUP.",
        "SOCIAL",
        (BARTOSZYCE,),
        (MOPS_OFFICE,),
        "Zaproponuje go pracownik socjalny; można też samemu o niego poprosić.",
        instrument=(AF, "SOCIAL_CONTRACT"),
        eligibility="Klienci MOPS gotowi do współpracy.",
        criteria=("SOCIAL_ASSISTANCE_CLIENT",),
    ),
    # --- GOPS and MGOPS of the county ------------------------------------------------------------
    DemoService(
        23,
        GOPS_BARTOSZYCE,
        "Praca socjalna w gminie wiejskiej Bartoszyce",
        "Pracownicy socjalni GOPS dyżurują w sołectwach i odwiedzają rodziny w domu. Pomoc w sprawach urzędowych, "
        "świadczeniach i kontaktach z PUP.",
        "SOCIAL",
        (BARTOSZYCE_RURAL,),
        (_office(GOPS_BARTOSZYCE),),
        "Zadzwoń do GOPS lub zgłoś się do sołtysa; pracownik socjalny przyjedzie.",
        instrument=(AF, "SOCIAL_WORK"),
        eligibility="Mieszkańcy gminy wiejskiej Bartoszyce.",
    ),
    DemoService(
        24,
        GOPS_BARTOSZYCE,
        "Pomoc w formie posiłku i żywności",
        "Gorący posiłek w stołówce szkolnej lub paczki żywnościowe z programu pomocy żywnościowej.",
        "SOCIAL",
        (BARTOSZYCE_RURAL,),
        (_office(GOPS_BARTOSZYCE),),
        "Wniosek w GOPS; skierowanie na paczki wystawia pracownik socjalny.",
        instrument=(AF, "MEAL"),
        eligibility="Osoby i rodziny z dochodem do 200% kryterium.",
        criteria=("SOCIAL_ASSISTANCE_CLIENT",),
    ),
    DemoService(
        25,
        MGOPS_BISZTYNEK,
        "Praca socjalna i poradnictwo w Bisztynku",
        "Pracownicy socjalni MGOPS pomagają mieszkańcom miasta i gminy Bisztynek: rozmowa, wsparcie w urzędach, "
        "skierowania do specjalistów.",
        "SOCIAL",
        (BISZTYNEK,),
        (_office(MGOPS_BISZTYNEK),),
        "Przyjdź do MGOPS w godzinach pracy lub zadzwoń.",
        instrument=(AF, "SOCIAL_WORK"),
        eligibility="Mieszkańcy gminy Bisztynek.",
    ),
    DemoService(
        26,
        MGOPS_BISZTYNEK,
        "Usługi opiekuńcze dla seniorów w gminie Bisztynek",
        "Opiekunka pomaga seniorom w domu: zakupy, przygotowanie posiłków, sprzątanie, wizyty u lekarza.",
        "SOCIAL",
        (BISZTYNEK,),
        (_office(MGOPS_BISZTYNEK),),
        "Wniosek w MGOPS z zaświadczeniem lekarskim.",
        instrument=(AF, "CARE_SERVICES"),
        eligibility="Osoby starsze i chore, które potrzebują pomocy.",
        criteria=("SENIOR",),
        ages=(60, None),
        fee="15.00",
        fee_note="Za godzinę; zależnie od dochodu, także bezpłatnie.",
    ),
    DemoService(
        27,
        MGOPS_SEPOPOL,
        "Praca socjalna w gminie Sępopol",
        "Wsparcie pracownika socjalnego dla mieszkańców Sępopola i okolicznych wsi, także w domu.",
        "SOCIAL",
        (SEPOPOL,),
        (_office(MGOPS_SEPOPOL),),
        "Zgłoś się do MGOPS osobiście lub telefonicznie.",
        instrument=(AF, "SOCIAL_WORK"),
        eligibility="Mieszkańcy gminy Sępopol.",
    ),
    DemoService(
        28,
        MGOPS_SEPOPOL,
        "Asystent rodziny w gminie Sępopol",
        "Wsparcie rodzin z dziećmi w codziennych obowiązkach i wychowaniu, praca w domu rodziny.",
        "SOCIAL",
        (SEPOPOL,),
        (_office(MGOPS_SEPOPOL),),
        "Asystenta przydziela MGOPS po rozmowie z pracownikiem socjalnym, za zgodą rodziny.",
        eligibility="Rodziny z dziećmi w trudnej sytuacji opiekuńczo-wychowawczej.",
        criteria=("FAMILY_IN_CRISIS",),
        capacity=(15, 1),
    ),
    DemoService(
        29,
        MOPS_GOROWO,
        "Praca socjalna w Górowie Iławeckim",
        "Pomoc pracownika socjalnego dla mieszkańców miasta Górowo Iławeckie.",
        "SOCIAL",
        (GOROWO_TOWN,),
        (_office(MOPS_GOROWO),),
        "Przyjdź do MOPS lub zadzwoń.",
        instrument=(AF, "SOCIAL_WORK"),
        eligibility="Mieszkańcy miasta Górowo Iławeckie.",
    ),
    DemoService(
        30,
        MOPS_GOROWO,
        "Pomoc rzeczowa: opał i odzież",
        "Pomoc w naturze: opał na zimę, odzież, obuwie i artykuły szkolne dla dzieci.",
        "SOCIAL",
        (GOROWO_TOWN,),
        (_office(MOPS_GOROWO),),
        "Wniosek w MOPS; pomoc przyznaje się po wywiadzie środowiskowym.",
        instrument=(AF, "IN_KIND"),
        eligibility="Osoby i rodziny z dochodem poniżej kryterium.",
        criteria=("SOCIAL_ASSISTANCE_CLIENT",),
    ),
    DemoService(
        31,
        GOPS_GOROWO,
        "Praca socjalna w gminie wiejskiej Górowo Iławeckie",
        "Pracownicy socjalni GOPS obsługują 68 miejscowości gminy; dyżury w świetlicach wiejskich.",
        "SOCIAL",
        (GOROWO_RURAL,),
        (_office(GOPS_GOROWO),),
        "Zadzwoń do GOPS, aby umówić wizytę lub dyżur w swojej wsi.",
        instrument=(AF, "SOCIAL_WORK"),
        eligibility="Mieszkańcy gminy wiejskiej Górowo Iławeckie.",
    ),
    # --- PCPR: county family support ---------------------------------------------------------------
    DemoService(
        32,
        PCPR,
        "Specjalistyczne poradnictwo: psycholog i pedagog",
        "Bezpłatne konsultacje psychologiczne i pedagogiczne dla rodzin, dzieci i dorosłych w kryzysie, "
        "także dla rodzin zastępczych.",
        "SOCIAL",
        WHOLE_COUNTY,
        (PCPR_OFFICE,),
        "Zapisy telefoniczne w PCPR; pierwszy termin zwykle w ciągu tygodnia.",
        instrument=(AF, "COUNSELLING"),
        eligibility="Mieszkańcy powiatu bartoszyckiego.",
        criteria=("FAMILY_IN_CRISIS",),
    ),
    DemoService(
        33,
        PCPR,
        "Interwencja kryzysowa",
        "Natychmiastowa pomoc psychologiczna i schronienie dla osób w ostrym kryzysie, w tym doznających "
        "przemocy domowej. Hostel interwencyjny z 6 miejscami.",
        "SOCIAL",
        WHOLE_COUNTY,
        (PCPR_OFFICE,),
        "Zgłoś się do PCPR bez skierowania albo zadzwoń. Po godzinach pomocy udziela policja (112).",
        instrument=(AF, "CRISIS_INTERVENTION"),
        eligibility="Osoby i rodziny w sytuacji kryzysowej.",
        criteria=("VIOLENCE_AFFECTED", "FAMILY_IN_CRISIS"),
        capacity=(6, 2),
    ),
    DemoService(
        34,
        PCPR,
        "Mieszkanie chronione treningowe",
        "Mieszkanie z pomocą specjalistów dla osób, które uczą się samodzielnego życia: usamodzielnianych "
        "wychowanków pieczy zastępczej i osób z niepełnosprawnością.",
        "SOCIAL",
        WHOLE_COUNTY,
        (PCPR_OFFICE,),
        "Wniosek w PCPR; kieruje decyzja administracyjna.",
        instrument=(AF, "SUPPORTED_HOUSING"),
        eligibility="Osoby usamodzielniane i z niepełnosprawnością.",
        criteria=("LEAVING_CARE", "DISABILITY"),
        ages=(18, None),
        capacity=(4, 1),
        fee="120.00",
        fee_note="Miesięcznie; opłata zależna od dochodu.",
    ),
    DemoService(
        35,
        PCPR,
        "Dofinansowanie turnusów rehabilitacyjnych (PFRON)",
        "Dofinansowanie pobytu na turnusie rehabilitacyjnym dla osób z orzeczeniem o niepełnosprawności "
        "i ich opiekunów.",
        "HEALTH",
        WHOLE_COUNTY,
        (PCPR_OFFICE,),
        "Wniosek w PCPR z wnioskiem lekarza o skierowanie na turnus; nabór przez cały rok.",
        eligibility="Osoby z orzeczeniem o niepełnosprawności, z dochodem w granicach progu PFRON.",
        criteria=("DISABILITY",),
        referrals=False,
    ),
    DemoService(
        36,
        PCPR,
        "Likwidacja barier architektonicznych i w komunikowaniu się",
        "Dofinansowanie przystosowania mieszkania, zakupu sprzętu i urządzeń ułatwiających komunikowanie się "
        "osobom z niepełnosprawnością.",
        "HEALTH",
        WHOLE_COUNTY,
        (PCPR_OFFICE,),
        "Wniosek w PCPR przed rozpoczęciem prac lub zakupem.",
        eligibility="Osoby z niepełnosprawnością z trudnościami w poruszaniu się lub komunikowaniu.",
        criteria=("DISABILITY",),
        referrals=False,
    ),
    DemoService(
        37,
        PCPR,
        "Pomoc na usamodzielnienie i kontynuowanie nauki",
        "Pieniądze na kontynuowanie nauki, usamodzielnienie i zagospodarowanie dla wychowanków rodzin "
        "zastępczych i placówek, z pomocą opiekuna usamodzielnienia.",
        "SOCIAL",
        WHOLE_COUNTY,
        (PCPR_OFFICE,),
        "Wniosek w PCPR z indywidualnym programem usamodzielnienia.",
        instrument=(AF, "LEAVING_CARE_AID"),
        eligibility="Pełnoletni wychowankowie pieczy zastępczej z powiatu.",
        criteria=("LEAVING_CARE",),
        ages=(18, 25),
    ),
    DemoService(
        38,
        PCPR,
        "Skierowanie do domu pomocy społecznej",
        "Całodobowa opieka w domu pomocy społecznej dla osób, które nie mogą samodzielnie funkcjonować.",
        "SOCIAL",
        WHOLE_COUNTY,
        (PCPR_OFFICE,),
        "Wniosek składa się w ośrodku pomocy społecznej gminy zamieszkania, który przekazuje go do PCPR.",
        instrument=(AF, "NURSING_HOME"),
        eligibility="Osoby wymagające całodobowej opieki z powodu wieku, choroby lub niepełnosprawności.",
        criteria=("SENIOR", "DISABILITY"),
        free=False,
        fee_note="Do 70% dochodu mieszkańca; resztę pokrywa rodzina lub gmina.",
    ),
    # --- CIS and KIS ---------------------------------------------------------------------------------
    DemoService(
        39,
        CIS,
        "Reintegracja społeczna i zawodowa w CIS",
        "Roczny program zajęć w warsztatach: gastronomicznym, remontowo-budowlanym, ogrodniczym i opiekuńczym. "
        "Uczestnik otrzymuje świadczenie integracyjne, ubezpieczenie i wsparcie psychologa.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (
            _office(CIS, (("MO-FR", "07:00", "15:00"),), "Warsztaty CIS"),
            Place(
                "Pracownia ogrodnicza CIS",
                "Wojciechy 12",
                "11-200",
                "Wojciechy",
                BARTOSZYCE_RURAL,
                (("MO-FR", "07:00", "15:00"),),
            ),
        ),
        "Kieruje ośrodek pomocy społecznej lub PUP; można też zgłosić się samemu, CIS pomoże uzyskać skierowanie.",
        eligibility="Osoby długotrwale bezrobotne, bezdomne, uzależnione po terapii, z niepełnosprawnością.",
        criteria=("SOCIAL_EXCLUSION_RISK", "LONG_TERM_UNEMPLOYED"),
        ages=(18, None),
        capacity=(40, 4),
    ),
    DemoService(
        40,
        KIS,
        "Klub Integracji Społecznej: grupa wsparcia i warsztaty",
        "Cotygodniowe spotkania grupy wsparcia, warsztaty umiejętności społecznych, pisania CV i rozmowy z "
        "pracodawcą, wolontariat i prace społecznie użyteczne.",
        "VOCATIONAL",
        (BARTOSZYCE,),
        (_office(KIS, (("TU", "10:00", "14:00"), ("TH", "10:00", "14:00")), "Sala klubowa KIS"),),
        "Zgłoś się w godzinach spotkań lub przez swojego pracownika socjalnego.",
        eligibility="Osoby zagrożone wykluczeniem społecznym, w tym długotrwale bezrobotne.",
        criteria=("SOCIAL_EXCLUSION_RISK",),
        capacity=(20, 6),
    ),
    # --- NGOs -------------------------------------------------------------------------------------
    DemoService(
        41,
        NGO_RAZEM,
        "Grupa wsparcia dla rodziców",
        "Spotkania rodziców z pedagogiem i psychologiem: wychowanie, trudne zachowania dzieci, szkoła, "
        "budżet domowy. W czasie spotkań opieka nad dziećmi.",
        "SOCIAL",
        WHOLE_COUNTY,
        (RAZEM_CLUB,),
        "Zapisz się telefonicznie albo przyjdź na spotkanie we wtorek o 17:00.",
        eligibility="Rodzice i opiekunowie dzieci, szczególnie rodziny wielodzietne.",
        criteria=("LARGE_FAMILY", "FAMILY_IN_CRISIS"),
    ),
    DemoService(
        42,
        NGO_RAZEM,
        "Korepetycje i świetlica dla dzieci",
        "Pomoc w lekcjach z matematyki, polskiego i angielskiego prowadzona przez wolontariuszy, zajęcia "
        "sportowe i wyjścia do kina i na basen.",
        "EDUCATIONAL",
        (BARTOSZYCE, BARTOSZYCE_RURAL),
        (RAZEM_CLUB,),
        "Rodzic zapisuje dziecko w świetlicy; miejsca przydzielamy według kolejności zgłoszeń.",
        eligibility="Dzieci i młodzież szkolna z Bartoszyc i okolic.",
        criteria=("LARGE_FAMILY",),
        ages=(7, 16),
        capacity=(30, 5),
    ),
    DemoService(
        43,
        NGO_SZANSA,
        "Trener pracy – zatrudnienie wspomagane",
        "Trener pracy pomaga osobie z niepełnosprawnością znaleźć pracę i wdrożyć się w nią u pracodawcy, "
        "towarzysząc jej w pierwszych tygodniach.",
        "VOCATIONAL",
        WHOLE_COUNTY,
        (_office(NGO_SZANSA, (("MO-FR", "09:00", "16:00"),), "Biuro stowarzyszenia"),),
        "Zadzwoń, aby umówić pierwsze spotkanie; potrzebne orzeczenie o niepełnosprawności.",
        eligibility="Osoby z orzeczeniem o niepełnosprawności, także zarejestrowane w PUP.",
        criteria=("DISABILITY",),
        ages=(18, 64),
        capacity=(12, 3),
    ),
    DemoService(
        44,
        NGO_SZANSA,
        "Rehabilitacja ruchowa dla dzieci i dorosłych",
        "Zajęcia z fizjoterapeutą, hydroterapia i rehabilitacja w domu dla osób, które nie mogą dojechać.",
        "HEALTH",
        WHOLE_COUNTY,
        (_office(NGO_SZANSA, (("MO-FR", "08:00", "18:00"),), "Gabinet rehabilitacji"),),
        "Zapisy telefoniczne; potrzebne skierowanie lekarza.",
        eligibility="Osoby z niepełnosprawnością ruchową.",
        criteria=("DISABILITY",),
        fee="30.00",
        fee_note="Za zajęcia; członkowie stowarzyszenia i osoby z niskim dochodem bezpłatnie.",
    ),
    DemoService(
        45,
        NGO_KROK,
        "Terapia uzależnień i grupa wsparcia dla rodzin",
        "Indywidualna terapia uzależnienia od alkoholu, grupa wsparcia dla osób po terapii i dla ich bliskich "
        "(współuzależnienie).",
        "HEALTH",
        WHOLE_COUNTY,
        (_office(NGO_KROK, (("MO", "16:00", "20:00"), ("WE", "16:00", "20:00"), ("FR", "16:00", "20:00"))),),
        "Przyjdź w godzinach dyżuru, bez skierowania i bez zapisów.",
        eligibility="Osoby uzależnione od alkoholu i ich rodziny.",
        criteria=("ADDICTION",),
        ages=(18, None),
    ),
    DemoService(
        46,
        NGO_PARAGRAF,
        "Nieodpłatna pomoc prawna i poradnictwo obywatelskie",
        "Porady prawnika i doradcy obywatelskiego: sprawy rodzinne, mieszkaniowe, długi, prawo pracy, "
        "świadczenia. Punkt prowadzony na zlecenie powiatu.",
        "SOCIAL",
        WHOLE_COUNTY,
        (_office(NGO_PARAGRAF, (("MO-FR", "12:00", "16:00"),), "Punkt nieodpłatnej pomocy prawnej"),),
        "Zapisy telefoniczne w Starostwie Powiatowym lub przez stronę np.ms.gov.pl; przed poradą oświadczenie, "
        "że nie stać Cię na odpłatną pomoc.",
        eligibility="Każdy, kogo nie stać na odpłatną pomoc prawnika.",
        languages=("pl", "en"),
        referrals=False,
    ),
    DemoService(
        47,
        NGO_MOST,
        "Kurs języka polskiego i pomoc w sprawach urzędowych dla cudzoziemców",
        "Kurs języka polskiego na poziomach A1–B1 oraz dyżur asystenta międzykulturowego: legalizacja pobytu, "
        "praca, szkoła dla dzieci. Konsultacje po ukraińsku i rosyjsku.",
        "EDUCATIONAL",
        WHOLE_COUNTY,
        (_office(NGO_MOST, (("TU", "16:00", "19:00"), ("SA", "10:00", "13:00")), "Sala szkoleniowa fundacji"),),
        "Zapisy mailowo lub telefonicznie; na kurs można dołączyć w każdym miesiącu.",
        eligibility="Cudzoziemcy mieszkający w powiecie, w tym uchodźcy z Ukrainy.",
        criteria=("FOREIGNER",),
        ages=(16, None),
        languages=("pl", "uk", "ru"),
        capacity=(24, 7),
    ),
)


async def seed(app: Container) -> bool:
    """The demo county (app.demo) and its directory; False when the directory was there already."""
    await demo.seed(app)
    return await seed_directory(app)


async def seed_directory(app: Container) -> bool:
    """The providers missing among PROVIDERS, then every service in one transaction."""
    store = SqlDirectoryStore.over(app.engine)
    async with store() as uow:
        if await uow.services.get(SERVICES[0].id) is not None:
            return False
        known = {i.id for i in await uow.institutions.get_many([p.id for p in PROVIDERS])}
    for provider in PROVIDERS:
        if provider.id not in known:
            await institutions.register_institution(app.ctx, None, provider.data, institution_id=provider.id)
    entries = [
        directory_use.ImportEntry(line=n, institution_id=s.provider.id, service_id=s.id, data=s.data())
        for n, s in enumerate(SERVICES, start=1)
    ]
    report = await directory_use.import_services(app.ctx, store, entries)
    if report.problems:  # pragma: no cover - the demo data is checked by the unit tests
        raise RuntimeError(f"the demo directory is not valid: {report.problems}")
    return True
