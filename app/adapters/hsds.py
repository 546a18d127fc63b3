"""Open Referral HSDS 3: the directory written as, and read back from, HSDS JSON.

The export is a bundle of four lists (organizations, services, locations, service_at_locations),
each item an HSDS object that validates against the HSDS 3 JSON Schemas. What HSDS has no field for
travels as `attributes` with taxonomy terms of Spójnia's code lists: the instrument category and
instrument, eligibility criteria, places open now, whether referrals are taken. Ids of the parts HSDS
wants ids for (phones, areas, schedules...) are derived from their owner's id, so an export of the same
data is the same document.

Reading accepts that bundle (our own export, or another system's), and also services that carry their
locations nested in `service_at_locations`. Organizations are matched to Spójnia's institutions by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from app.domain.code_lists import CodeLists
from app.domain.directory import (
    CATEGORY_LIST,
    INSTRUMENT_LISTS,
    VOIVODESHIPS,
    Location,
    LocationData,
    OpeningHoursData,
    Service,
    ServiceData,
    ServiceStatus,
    place_label,
)
from app.domain.errors import FieldError
from app.domain.institutions import Institution

HSDS_VERSION = "3.0"
_NAMESPACE = uuid5(NAMESPACE_URL, "https://spojnia.example/hsds")
CRITERIA_TAXONOMY = "spojnia:EligibilityCriterion"
FACTS_TAXONOMY = "spojnia:ServiceFacts"
_STATUS_TO_HSDS = {
    ServiceStatus.ACTIVE: "active",
    ServiceStatus.TEMPORARILY_CLOSED: "temporarily closed",
    ServiceStatus.INACTIVE: "inactive",
}
_STATUS_FROM_HSDS = {v: k for k, v in _STATUS_TO_HSDS.items()} | {"defunct": ServiceStatus.INACTIVE}
LANGUAGE_NAMES = {"pl": "polski", "uk": "ukraiński", "en": "angielski", "ru": "rosyjski", "de": "niemiecki"}
LOCAL_TIME = "czas lokalny (Europe/Warsaw)"


def derived_id(owner: UUID | str, part: str) -> str:
    """A stable id for a part of a record (its phone, its n-th area...): the same export, the same ids."""
    return str(uuid5(_NAMESPACE, f"{owner}/{part}"))


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    """HSDS types its fields as strings and numbers, not null: absent values are left out."""
    return {k: v for k, v in item.items() if v is not None and v != [] and v != ""}


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def _term(taxonomy: str, code: str, name: str, description: str) -> dict[str, Any]:
    return {
        "id": derived_id(taxonomy, code),
        "code": code,
        "name": name,
        "description": description,
        "taxonomy": taxonomy,
        "language": "pl",
    }


def _attribute(owner: UUID, entity: str, term: dict[str, Any], value: str | None = None) -> dict[str, Any]:
    return _clean(
        {
            "id": derived_id(owner, f"attribute/{term['taxonomy']}/{term['code']}"),
            "link_id": str(owner),
            "link_type": term["taxonomy"],
            "link_entity": entity,
            "taxonomy_term_id": term["id"],
            "taxonomy_term": term,
            "value": value,
        }
    )


def _code_term(codes: CodeLists, list_name: str, code: str) -> dict[str, Any]:
    found = codes.get(list_name)
    entry = found.get(code) if found else None
    name, english = (entry.name_pl, entry.name_en) if entry else (code, code)
    return _term(list_name, code, name, english)


def organization(institution: Institution, codes: CodeLists) -> dict[str, Any]:
    i = institution
    kind = _code_term(codes, "InstitutionType", i.type)
    return _clean(
        {
            "id": str(i.id),
            "name": i.name,
            "description": f"{kind['name']} ({i.type})",
            "email": i.contact.email,
            "tax_id": i.nip.value if i.nip else None,
            "organization_identifiers": [
                {
                    "id": derived_id(i.id, "identifier/regon"),
                    "organization_id": str(i.id),
                    "identifier_scheme": "PL-REGON",
                    "identifier_type": "REGON",
                    "identifier": i.regon.value,
                }
            ]
            if i.regon
            else None,
            "phones": [{"id": derived_id(i.id, "phone"), "organization_id": str(i.id), "number": i.contact.phone}]
            if i.contact.phone
            else None,
            "attributes": [_attribute(i.id, "organization", kind)],
        }
    )


def location(loc: Location, service: Service) -> dict[str, Any]:
    address = loc.address
    return _clean(
        {
            "id": str(loc.id),
            "location_type": "physical",
            "organization_id": str(service.institution_id),
            "name": loc.name,
            "external_identifier": loc.teryt.value,
            "external_identifier_type": "TERYT",
            "addresses": [
                {
                    "id": derived_id(loc.id, "address"),
                    "location_id": str(loc.id),
                    "address_1": address.street or address.city or loc.name,
                    "city": address.city or "",
                    "state_province": VOIVODESHIPS.get(loc.teryt.value[:2], ""),
                    "postal_code": address.postal_code or "",
                    "country": "PL",
                    "address_type": "physical",
                }
            ],
            "schedules": [
                {
                    "id": derived_id(loc.id, f"schedule/{h.day.value}"),
                    "location_id": str(loc.id),
                    "freq": "WEEKLY",
                    "wkst": "MO",
                    "byday": h.day.value,
                    "opens_at": f"{h.opens:%H:%M}",
                    "closes_at": f"{h.closes:%H:%M}",
                    "description": LOCAL_TIME,
                }
                for h in loc.opening_hours
            ],
            "accessibility": [
                {
                    "id": derived_id(loc.id, "accessibility"),
                    "location_id": str(loc.id),
                    "description": loc.accessibility,
                }
            ]
            if loc.accessibility
            else None,
        }
    )


def _fees(service: Service) -> str:
    cost = service.cost
    if cost.free:
        return "Bezpłatnie." + (f" {cost.description}" if cost.description else "")
    amount = f"{cost.amount} zł" if cost.amount is not None else "odpłatnie"
    return f"{amount}. {cost.description}" if cost.description else f"{amount}."


def service(s: Service, codes: CodeLists) -> dict[str, Any]:
    terms = [_attribute(s.id, "service", _code_term(codes, CATEGORY_LIST, s.category))]
    if s.instrument is not None:
        terms.append(_attribute(s.id, "service", _code_term(codes, s.instrument.code_list, s.instrument.code)))
    terms.extend(
        _attribute(s.id, "service", _term(CRITERIA_TAXONOMY, c.value, c.label_pl, c.value))
        for c in sorted(s.eligibility.criteria)
    )
    facts = [("ACCEPTS_REFERRALS", "przyjmuje skierowania", "true" if s.accepts_referrals else "false")]
    if s.capacity.total is not None:
        facts.append(("CAPACITY", "liczba miejsc", str(s.capacity.total)))
    if s.capacity.open_places is not None:
        facts.append(("OPEN_PLACES", "wolne miejsca", str(s.capacity.open_places)))
    terms.extend(
        _attribute(s.id, "service", _term(FACTS_TAXONOMY, code, name, code), value) for code, name, value in facts
    )
    return _clean(
        {
            "id": str(s.id),
            "organization_id": str(s.institution_id),
            "name": s.name,
            "alternate_name": s.alternate_name,
            "description": s.description,
            "url": s.contact.website,
            "email": s.contact.email,
            "status": _STATUS_TO_HSDS[s.status],
            "application_process": s.application_process,
            "fees_description": _fees(s),
            "eligibility_description": s.eligibility.description,
            "minimum_age": s.eligibility.min_age,
            "maximum_age": s.eligibility.max_age,
            "assured_date": s.last_verified_on.isoformat() if s.last_verified_on else None,
            "last_modified": s.updated_at.isoformat(),
            "phones": [{"id": derived_id(s.id, "phone"), "service_id": str(s.id), "number": s.contact.phone}]
            if s.contact.phone
            else None,
            "service_areas": [
                {
                    "id": derived_id(s.id, f"area/{a.value}"),
                    "service_id": str(s.id),
                    "name": f"TERYT {a.value}",
                    "description": place_label(a),
                    "extent": a.value,
                    "extent_type": "text",
                }
                for a in s.areas
            ],
            "languages": [
                _clean(
                    {
                        "id": derived_id(s.id, f"language/{code}"),
                        "service_id": str(s.id),
                        "code": code,
                        "name": LANGUAGE_NAMES.get(code),
                    }
                )
                for code in s.languages
            ],
            "cost_options": [
                _clean(
                    {
                        "id": derived_id(s.id, "cost"),
                        "service_id": str(s.id),
                        "option": s.cost.description,
                        "currency": "PLN",
                        # HSDS types the amount as a number; the decimal string stays exact in `amount_description`.
                        "amount": float(s.cost.amount) if s.cost.amount is not None else None,
                        "amount_description": f"{s.cost.amount} PLN" if s.cost.amount is not None else None,
                    }
                )
            ]
            if not s.cost.free
            else None,
            "attributes": terms,
        }
    )


def service_at_location(s: Service, loc: Location) -> dict[str, Any]:
    return {"id": derived_id(s.id, f"at/{loc.id}"), "service_id": str(s.id), "location_id": str(loc.id)}


def bundle(institutions: Sequence[Institution], services: Sequence[Service], codes: CodeLists) -> dict[str, Any]:
    return {
        "hsds_version": HSDS_VERSION,
        "organizations": [organization(i, codes) for i in institutions],
        "services": [service(s, codes) for s in services],
        "locations": [location(loc, s) for s in services for loc in s.locations],
        "service_at_locations": [service_at_location(s, loc) for s in services for loc in s.locations],
    }


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


class HsdsProblem(Exception):
    """An item that cannot be read as a service at all."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.error = FieldError(field, message)


def _text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HsdsProblem(key, "must be text")
    return value


def _list(item: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = item.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise HsdsProblem(key, "must be a list of objects")
    return value


def _age(item: Mapping[str, Any], key: str) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise HsdsProblem(key, "a whole number of years")
    return int(value)


def _location_data(loc: Mapping[str, Any], service_id: UUID) -> LocationData:
    addresses = _list(loc, "addresses")
    address = addresses[0] if addresses else {}
    teryt = _text(loc, "external_identifier") if loc.get("external_identifier_type") == "TERYT" else None
    street = _text(address, "address_1")
    city = _text(address, "city") or ""
    accessibility = [a.get("description") for a in _list(loc, "accessibility") if isinstance(a.get("description"), str)]
    try:
        location_id = UUID(str(loc.get("id")))
    except ValueError:
        raise HsdsProblem("location.id", "not a UUID") from None
    # In HSDS several services may share a location; in Spójnia each service has its own. The first
    # service linked keeps the location's id, the others get one derived from it and their own.
    linked = loc.get("_services") or [str(service_id)]
    if linked[0] != str(service_id):
        location_id = uuid5(location_id, str(service_id))
    return LocationData(
        id=location_id,
        name=_text(loc, "name") or city,
        street=street if street != city else None,
        postal_code=_text(address, "postal_code") or None,
        city=city,
        teryt=teryt or "",
        opening_hours=[
            OpeningHoursData(day=day, opens=str(h.get("opens_at", ""))[:5], closes=str(h.get("closes_at", ""))[:5])
            for h in _list(loc, "schedules")
            for day in str(h.get("byday", "")).split(",")
            if day
        ],
        accessibility=" ".join(a for a in accessibility if a) or None,
    )


def _taxonomy_codes(item: Mapping[str, Any]) -> dict[str, list[tuple[str, str | None]]]:
    """taxonomy -> [(code, value)] of an item's attributes."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for attribute in _list(item, "attributes"):
        term = attribute.get("taxonomy_term")
        if isinstance(term, Mapping) and isinstance(term.get("code"), str):
            taxonomy = str(term.get("taxonomy") or attribute.get("link_type") or "")
            value = attribute.get("value")
            found.setdefault(taxonomy, []).append((term["code"], value if isinstance(value, str) else None))
    return found


def _fact(facts: Iterable[tuple[str, str | None]], code: str) -> str | None:
    return next((value for c, value in facts if c == code), None)


def _count(facts: list[tuple[str, str | None]], code: str) -> int | None:
    raw = _fact(facts, code)
    if raw is None:
        return None
    if not raw.isdigit():
        raise HsdsProblem(f"attributes.{code}", "a whole number")
    return int(raw)


def service_data(item: Mapping[str, Any], locations: Mapping[str, Mapping[str, Any]]) -> tuple[UUID, UUID, ServiceData]:
    """(service id, organization id, what the service says) of one HSDS service.

    `locations` are the bundle's locations by id; a service may also carry its own in
    `service_at_locations[].location`.
    """
    try:
        service_id = UUID(str(item.get("id")))
    except ValueError:
        raise HsdsProblem("id", "not a UUID") from None
    try:
        organization_id = UUID(str(item.get("organization_id") or (item.get("organization") or {}).get("id")))
    except (ValueError, AttributeError):
        raise HsdsProblem("organization_id", "not a UUID") from None
    taxonomies = _taxonomy_codes(item)
    categories = [code for code, _ in taxonomies.get(CATEGORY_LIST, [])]
    instrument = next(((name, code) for name in INSTRUMENT_LISTS for code, _ in taxonomies.get(name, [])), None)
    facts = taxonomies.get(FACTS_TAXONOMY, [])
    nested = [
        link["location"] for link in _list(item, "service_at_locations") if isinstance(link.get("location"), Mapping)
    ]
    own_locations = [locations[str(loc_id)] for loc_id in _linked_locations(item, locations)] + nested
    costs = _list(item, "cost_options")
    amount = costs[0].get("amount") if costs else None
    status = _text(item, "status") or "active"
    if status not in _STATUS_FROM_HSDS:
        raise HsdsProblem("status", "one of active, inactive, defunct, temporarily closed")
    phones = _list(item, "phones")
    assured = _text(item, "assured_date")
    try:
        verified = date.fromisoformat(assured) if assured else None
    except ValueError:
        raise HsdsProblem("assured_date", "a date like 2026-05-01") from None
    return (
        service_id,
        organization_id,
        ServiceData(
            name=_text(item, "name") or "",
            alternate_name=_text(item, "alternate_name"),
            description=_text(item, "description") or "",
            category=categories[0] if categories else "",
            instrument_list=instrument[0] if instrument else None,
            instrument_code=instrument[1] if instrument else None,
            eligibility_description=_text(item, "eligibility_description") or "",
            min_age=_age(item, "minimum_age"),
            max_age=_age(item, "maximum_age"),
            criteria=[code for code, _ in taxonomies.get(CRITERIA_TAXONOMY, [])],
            areas=[str(a.get("extent") or "") for a in _list(item, "service_areas")],
            locations=[_location_data(loc, service_id) for loc in own_locations],
            email=_text(item, "email"),
            phone=str(phones[0].get("number")) if phones else None,
            website=_text(item, "url"),
            application_process=_text(item, "application_process") or "",
            accepts_referrals=_fact(facts, "ACCEPTS_REFERRALS") != "false",
            free=not costs,
            fee_amount=None if amount is None else str(amount),
            fee_description=(_text(costs[0], "option") if costs else None) or _free_description(item),
            languages=[str(lang.get("code")) for lang in _list(item, "languages") if lang.get("code")] or ["pl"],
            capacity_total=_count(facts, "CAPACITY"),
            open_places=_count(facts, "OPEN_PLACES"),
            status=_STATUS_FROM_HSDS[status].value,
            last_verified_on=verified,
        ),
    )


def _free_description(item: Mapping[str, Any]) -> str | None:
    """What our export wrote after "Bezpłatnie." in `fees_description`, read back."""
    fees = _text(item, "fees_description")
    if fees and fees.startswith("Bezpłatnie."):
        return fees.removeprefix("Bezpłatnie.").strip() or None
    return None


def _linked_locations(item: Mapping[str, Any], locations: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [loc_id for loc_id, loc in locations.items() if str(item.get("id")) in loc.get("_services", ())]


def index_locations(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The bundle's locations by id, each marked with the services linked to it."""
    by_id: dict[str, dict[str, Any]] = {}
    for loc in document.get("locations") or []:
        if isinstance(loc, Mapping) and loc.get("id"):
            by_id[str(loc["id"])] = dict(loc) | {"_services": []}
    for link in document.get("service_at_locations") or []:
        if isinstance(link, Mapping) and str(link.get("location_id")) in by_id:
            by_id[str(link["location_id"])]["_services"].append(str(link.get("service_id")))
    return by_id
