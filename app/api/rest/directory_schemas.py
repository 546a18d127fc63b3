"""Bodies of the directory endpoints (/v1/services) and their mapping from domain objects."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from app.api.rest.schemas import Strict
from app.domain.directory import (
    Criterion,
    Location,
    LocationData,
    OpeningHoursData,
    Place,
    Service,
    ServiceData,
    ServiceStatus,
    Weekday,
)
from app.domain.institutions import Institution

Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Z0-9_]+$")]
TerytCode = Annotated[str, StringConstraints(pattern=r"^\d{2}(\d{2}(\d{3})?)?$")]
GminaCode = Annotated[str, StringConstraints(pattern=r"^\d{7}$")]
Hour = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Money = Annotated[str, StringConstraints(pattern=r"^\d{1,7}(\.\d{2})?$")]
Text = Annotated[str, StringConstraints(max_length=5000)]
ShortText = Annotated[str, StringConstraints(max_length=300)]


class InstrumentBody(Strict):
    code_list: Literal["LabourMarketInstrument", "AssistanceForm"]
    code: Code = Field(examples=["JOB_PLACEMENT"])


class EligibilityBody(Strict):
    description: Annotated[str, StringConstraints(max_length=2000)] = Field(
        default="", description="Who the service is for, in words.", examples=["Osoby zarejestrowane w PUP."]
    )
    min_age: int | None = Field(default=None, ge=0, le=130)
    max_age: int | None = Field(default=None, ge=0, le=130)
    criteria: list[Criterion] = Field(default_factory=list, max_length=20, description="Groups the service is for.")


class OpeningHoursBody(Strict):
    day: Weekday
    opens: Hour = Field(examples=["07:30"])
    closes: Hour = Field(examples=["15:30"], description="Local time in Poland.")


class LocationBody(Strict):
    id: UUID | None = Field(default=None, description="Given to keep a location's id when the service is changed.")
    name: ShortText = Field(examples=["Siedziba PUP"])
    street: ShortText | None = Field(default=None, examples=["ul. Limanowskiego 9"])
    postal_code: str | None = Field(default=None, max_length=6, examples=["11-200"])
    city: ShortText = Field(examples=["Bartoszyce"])
    teryt: GminaCode = Field(description="TERYT code of the gmina where the building stands.", examples=["2801011"])
    opening_hours: list[OpeningHoursBody] = Field(default_factory=list, max_length=7)
    accessibility: Annotated[str, StringConstraints(max_length=500)] | None = None

    @classmethod
    def of(cls, loc: Location) -> LocationBody:
        return cls(
            id=loc.id,
            name=loc.name,
            street=loc.address.street,
            postal_code=loc.address.postal_code,
            city=loc.address.city or "",
            teryt=loc.teryt.value,
            opening_hours=[
                OpeningHoursBody(day=h.day, opens=f"{h.opens:%H:%M}", closes=f"{h.closes:%H:%M}")
                for h in loc.opening_hours
            ],
            accessibility=loc.accessibility,
        )


class ServiceContactBody(Strict):
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    website: str | None = Field(default=None, max_length=500)


class CostBody(Strict):
    free: bool = True
    amount: Money | None = Field(default=None, description="PLN, two decimal places; only for a paid service.")
    description: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, examples=["Odpłatność zależna od dochodu, wg uchwały Rady Miasta."]
    )


class CapacityBody(Strict):
    total: int | None = Field(default=None, ge=0, le=100_000)
    open_places: int | None = Field(default=None, ge=0, le=100_000, description="Places free now.")


class ServiceIn(Strict):
    name: ShortText = Field(min_length=1, examples=["Pośrednictwo pracy"])
    alternate_name: ShortText | None = None
    description: Text = Field(min_length=1)
    category: Code = Field(description="Code of InstrumentCategory.", examples=["VOCATIONAL"])
    instrument: InstrumentBody | None = Field(default=None, description="The instrument, when the service is one.")
    eligibility: EligibilityBody = EligibilityBody()
    areas: list[TerytCode] = Field(
        min_length=1, max_length=200, description="TERYT codes of the gminas, powiats or voivodeships served."
    )
    locations: list[LocationBody] = Field(default_factory=list, max_length=20)
    contact: ServiceContactBody = ServiceContactBody()
    application_process: Annotated[str, StringConstraints(max_length=3000)] = Field(
        default="", description="How to apply, or how to be referred."
    )
    accepts_referrals: bool = Field(default=True, description="Institutions may refer persons to it through Spójnia.")
    cost: CostBody = CostBody()
    languages: list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]] = Field(
        default_factory=lambda: ["pl"], max_length=20, description="ISO 639 codes."
    )
    capacity: CapacityBody = CapacityBody()
    status: ServiceStatus = ServiceStatus.ACTIVE
    last_verified_on: date | None = Field(default=None, description="When the provider last confirmed these data.")

    def to_domain(self) -> ServiceData:
        return ServiceData(
            name=self.name,
            alternate_name=self.alternate_name,
            description=self.description,
            category=self.category,
            instrument_list=self.instrument.code_list if self.instrument else None,
            instrument_code=self.instrument.code if self.instrument else None,
            eligibility_description=self.eligibility.description,
            min_age=self.eligibility.min_age,
            max_age=self.eligibility.max_age,
            criteria=[c.value for c in self.eligibility.criteria],
            areas=self.areas,
            locations=[
                LocationData(
                    id=loc.id,
                    name=loc.name,
                    street=loc.street,
                    postal_code=loc.postal_code,
                    city=loc.city,
                    teryt=loc.teryt,
                    opening_hours=[
                        OpeningHoursData(day=h.day.value, opens=h.opens, closes=h.closes) for h in loc.opening_hours
                    ],
                    accessibility=loc.accessibility,
                )
                for loc in self.locations
            ],
            email=self.contact.email,
            phone=self.contact.phone,
            website=self.contact.website,
            application_process=self.application_process,
            accepts_referrals=self.accepts_referrals,
            free=self.cost.free,
            fee_amount=self.cost.amount,
            fee_description=self.cost.description,
            languages=self.languages,
            capacity_total=self.capacity.total,
            open_places=self.capacity.open_places,
            status=self.status.value,
            last_verified_on=self.last_verified_on,
        )


class ProviderOut(BaseModel):
    id: UUID
    name: str
    type: str = Field(description="Code of InstitutionType.")

    @classmethod
    def of(cls, i: Institution) -> ProviderOut:
        return cls(id=i.id, name=i.name, type=i.type)


class CostOut(BaseModel):
    free: bool
    amount: Decimal | None = Field(description='PLN as a decimal string, e.g. "25.00".')
    description: str | None


class ServiceOut(BaseModel):
    id: UUID
    institution: ProviderOut
    name: str
    alternate_name: str | None
    description: str
    category: str
    instrument: InstrumentBody | None
    eligibility: EligibilityBody
    areas: list[str]
    locations: list[LocationBody]
    contact: ServiceContactBody
    application_process: str
    accepts_referrals: bool
    cost: CostOut
    languages: list[str]
    capacity: CapacityBody
    status: ServiceStatus
    last_verified_on: date | None
    page_url: str = Field(description="The service's page in the public directory.")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, service: Service, institution: Institution) -> ServiceOut:
        s = service
        return cls(
            id=s.id,
            institution=ProviderOut.of(institution),
            name=s.name,
            alternate_name=s.alternate_name,
            description=s.description,
            category=s.category,
            instrument=InstrumentBody.model_validate({"code_list": s.instrument.code_list, "code": s.instrument.code})
            if s.instrument
            else None,
            eligibility=EligibilityBody(
                description=s.eligibility.description,
                min_age=s.eligibility.min_age,
                max_age=s.eligibility.max_age,
                criteria=sorted(s.eligibility.criteria),
            ),
            areas=[a.value for a in s.areas],
            locations=[LocationBody.of(loc) for loc in s.locations],
            contact=ServiceContactBody(email=s.contact.email, phone=s.contact.phone, website=s.contact.website),
            application_process=s.application_process,
            accepts_referrals=s.accepts_referrals,
            cost=CostOut(free=s.cost.free, amount=s.cost.amount, description=s.cost.description),
            languages=list(s.languages),
            capacity=CapacityBody(total=s.capacity.total, open_places=s.capacity.open_places),
            status=s.status,
            last_verified_on=s.last_verified_on,
            page_url=f"/informator/uslugi/{s.id}",
            version=s.version,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class ServiceHitOut(ServiceOut):
    score: float = Field(description="Relevance to the query: higher first; 0 without `q`.")


class ServicePage(BaseModel):
    items: list[ServiceHitOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class PlaceOut(BaseModel):
    teryt: str
    name: str
    label: str

    @classmethod
    def of(cls, p: Place) -> PlaceOut:
        return cls(teryt=p.teryt.value, name=p.name, label=p.label)


class PlacesOut(BaseModel):
    items: list[PlaceOut]


class HsdsBundle(BaseModel):
    """The directory in Open Referral HSDS 3 form: four lists whose items follow the HSDS schemas."""

    hsds_version: str = Field(examples=["3.0"])
    organizations: list[dict[str, Any]] = Field(description="HSDS `organization` objects: the institutions.")
    services: list[dict[str, Any]] = Field(description="HSDS `service` objects.")
    locations: list[dict[str, Any]] = Field(description="HSDS `location` objects with addresses and schedules.")
    service_at_locations: list[dict[str, Any]] = Field(description="HSDS `service_at_location` links.")
