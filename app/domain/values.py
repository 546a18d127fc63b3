"""Validated value objects: identifiers of persons, institutions and territorial units.

Checksums come from python-stdnum; nothing here re-implements one it has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.pl import nip as stdnum_nip
from stdnum.pl import pesel as stdnum_pesel
from stdnum.pl import regon as stdnum_regon

from app.domain.errors import FieldError, InvalidInput


def clean_text(value: str, *, field: str, max_length: int) -> str:
    """Names as people type them: inner runs of spaces folded, never empty after folding."""
    cleaned = " ".join(value.split())
    if not cleaned.isprintable():
        raise InvalidInput(f"{field} has control characters", [FieldError(field, "control characters")])
    if not 1 <= len(cleaned) <= max_length:
        message = f"1 to {max_length} characters, not only spaces"
        raise InvalidInput(f"{field} must have {message}", [FieldError(field, message)])
    return cleaned


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, [FieldError(field, message)])


# The century of a PESEL's birth date, by the tens of its month field (20 is added for 2000-2099, and so on).
_PESEL_CENTURIES = {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 1800}


def _pesel_birth_date(digits: str) -> date | None:
    month = int(digits[2:4])
    try:
        return date(_PESEL_CENTURIES[month // 20] + int(digits[0:2]), month % 20, int(digits[4:6]))
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Pesel:
    """An 11-digit PESEL whose checksum and embedded birth date are valid."""

    value: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "pesel") -> Pesel:
        if len(raw) == 11 and raw.isascii() and raw.isdigit():
            # The usual form, checked without stdnum's compact(), which costs more than the checksum itself and
            # adds up in a file of a hundred thousand rows; anything else (separators, spaces) goes through it.
            valid = stdnum_pesel.calc_check_digit(raw[:10]) == raw[10] and _pesel_birth_date(raw) is not None
            compact = raw
        else:
            try:
                compact, valid = stdnum_pesel.validate(raw), True
            except StdnumValidationError:
                valid = False
        if not valid:
            # The message never echoes the number: it is personal data.
            raise _invalid(field, "PESEL is not valid (length, birth date or checksum)")
        return cls(compact)

    @property
    def birth_date(self) -> date:
        born = _pesel_birth_date(self.value)
        if born is None:
            raise ValueError("not a valid PESEL")
        return born

    @property
    def sex(self) -> Sex:
        # The tenth digit: even for women, odd for men.
        return Sex.FEMALE if self.value[9] in "02468" else Sex.MALE

    def __repr__(self) -> str:
        return "Pesel(***)"


@dataclass(frozen=True, slots=True)
class Regon:
    value: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "regon") -> Regon:
        try:
            return cls(stdnum_regon.validate(raw))
        except StdnumValidationError:
            raise _invalid(field, "REGON is not valid (9 or 14 digits with checksum)") from None


@dataclass(frozen=True, slots=True)
class Nip:
    value: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "nip") -> Nip:
        try:
            return cls(stdnum_nip.validate(raw))
        except StdnumValidationError:
            raise _invalid(field, "NIP is not valid (10 digits with checksum)") from None


_VOIVODESHIPS = frozenset(f"{n:02d}" for n in range(2, 33, 2))
# Gmina type digit: 1 urban, 2 rural, 3 urban-rural, 4 town in an urban-rural gmina,
# 5 rural area of one, 8 district of Warsaw, 9 delegation/district of another city.
_GMINA_KINDS = frozenset("1234589")


class TerytLevel(StrEnum):
    VOIVODESHIP = "voivodeship"
    POWIAT = "powiat"
    GMINA = "gmina"


@dataclass(frozen=True, slots=True)
class Teryt:
    """A TERC code: voivodeship (2 digits), powiat (4) or gmina (7, with its type digit)."""

    value: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "teryt") -> Teryt:
        code = raw.strip()
        if not re.fullmatch(r"\d{2}|\d{4}|\d{7}", code):
            raise _invalid(field, "TERYT code must have 2, 4 or 7 digits")
        if code[:2] not in _VOIVODESHIPS:
            raise _invalid(field, "TERYT code names no voivodeship (02, 04, ... 32)")
        if len(code) >= 4 and code[2:4] == "00":
            raise _invalid(field, "TERYT code names no powiat")
        if len(code) == 7 and (code[4:6] == "00" or code[6] not in _GMINA_KINDS):
            raise _invalid(field, "TERYT gmina code has no valid gmina number or type digit")
        return cls(code)

    @property
    def level(self) -> TerytLevel:
        return {2: TerytLevel.VOIVODESHIP, 4: TerytLevel.POWIAT}.get(len(self.value), TerytLevel.GMINA)

    def contains(self, other: Teryt) -> bool:
        """True when `other` lies in this unit (a gmina lies in its powiat and voivodeship)."""
        return other.value.startswith(self.value)


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """A document identifying a person who has no PESEL (a foreigner, an unregistered child)."""

    kind: str
    number: str
    country: str

    @classmethod
    def parse(cls, *, kind: str, number: str, country: str) -> IdentityDocument:
        errors: list[FieldError] = []
        number = number.strip().upper()
        country = country.strip().upper()
        if not 3 <= len(number) <= 30 or not re.fullmatch(r"[A-Z0-9\-/ ]+", number):
            errors.append(FieldError("identity_document.number", "3 to 30 letters or digits"))
        if not re.fullmatch(r"[A-Z]{2}", country):
            errors.append(FieldError("identity_document.country", "ISO 3166-1 alpha-2 country code"))
        if errors:
            raise InvalidInput("identity document is not valid", errors)
        return cls(kind=kind, number=number, country=country)


@dataclass(frozen=True, slots=True)
class Address:
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None

    def __post_init__(self) -> None:
        if self.postal_code is not None and not re.fullmatch(r"\d{2}-\d{3}", self.postal_code):
            raise _invalid("address.postal_code", "Polish postal code looks like 00-950")


@dataclass(frozen=True, slots=True)
class Contact:
    email: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        if self.email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.email):
            raise _invalid("contact.email", "not an e-mail address")
        if self.phone is not None and not re.fullmatch(r"\+?[\d ()-]{6,20}", self.phone):
            raise _invalid("contact.phone", "not a phone number")
