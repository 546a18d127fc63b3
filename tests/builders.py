"""Request bodies for tests, valid unless a test changes them."""

from __future__ import annotations

from typing import Any

from stdnum.pl import pesel as stdnum_pesel

# Fictitious but valid PESELs: (number, birth date, sex).
JAN = "85031204311"  # 1985-03-12, male
MARIA = "87082405628"  # 1987-08-24, female
KACPER = "12250707819"  # 2012-05-07, male
ZOFIA = "14271909926"  # 2014-07-19, female


def make_pesel(yymmdd: str, serial: str = "0451") -> str:
    """A valid PESEL for a birth date already encoded as in PESEL (month +20 for the 2000s)."""
    digits = yymmdd + serial
    return digits + stdnum_pesel.calc_check_digit(digits)


def person_body(pesel: str | None = JAN, *, status: str = "BENEFIT_RECIPIENT", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"first_name": "Jan", "last_name": "Nowak", "enrollment": {"status": status}}
    if pesel is not None:
        body["pesel"] = pesel
    else:
        body["birth_date"] = "1990-04-02"
        body["identity_document"] = {"kind": "PASSPORT", "number": "FA123456", "country": "UA"}
    body.update(overrides)
    return body
