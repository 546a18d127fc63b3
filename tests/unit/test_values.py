"""Validated identifiers and values: PESEL, REGON, NIP, TERYT, identity documents, addresses, contacts."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.pl import pesel as stdnum_pesel

from app.domain.errors import InvalidInput
from app.domain.values import Address, Contact, IdentityDocument, Nip, Pesel, Regon, Sex, Teryt, TerytLevel
from tests.builders import JAN, KACPER, MARIA, ZOFIA

# Property tests keep no example database on disk: the tree is shared.
quick = settings(database=None, max_examples=200, deadline=None)


def fields_of(error: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [e.field for e in error.value.errors]


def pesel_for(born: date, serial: int) -> str:
    """A PESEL for a birth date between 1900 and 2099, built the way the registry does it."""
    month = born.month + (20 if born.year >= 2000 else 0)
    digits = f"{born.year % 100:02d}{month:02d}{born.day:02d}{serial:04d}"
    return digits + stdnum_pesel.calc_check_digit(digits)


# --------------------------------------------------------------------------- PESEL


@pytest.mark.parametrize(
    ("number", "born", "sex"),
    [
        (JAN, date(1985, 3, 12), Sex.MALE),
        (MARIA, date(1987, 8, 24), Sex.FEMALE),
        (KACPER, date(2012, 5, 7), Sex.MALE),  # month 25: born in the 2000s
        (ZOFIA, date(2014, 7, 19), Sex.FEMALE),
    ],
)
def test_valid_pesel_gives_the_birth_date_and_sex_it_encodes(number: str, born: date, sex: Sex) -> None:
    pesel = Pesel.parse(number)

    assert pesel.value == number
    assert pesel.birth_date == born
    assert pesel.sex == sex


def test_pesel_with_a_wrong_check_digit_is_refused_on_the_named_field() -> None:
    wrong = JAN[:-1] + str((int(JAN[-1]) + 1) % 10)

    with pytest.raises(InvalidInput) as error:
        Pesel.parse(wrong, field="members[0].pesel")

    assert fields_of(error) == ["members[0].pesel"]


@pytest.mark.parametrize(
    "digits",
    [
        "8513120431",  # month 13
        "8502300431",  # 30 February
        "0102290431",  # 29 February 1901: not a leap year
        "8500120431",  # month 00
        "8503320431",  # day 32
    ],
)
def test_pesel_whose_birth_date_cannot_exist_is_refused_even_with_a_correct_checksum(digits: str) -> None:
    number = digits + stdnum_pesel.calc_check_digit(digits)

    with pytest.raises(InvalidInput) as error:
        Pesel.parse(number)

    assert fields_of(error) == ["pesel"]


@pytest.mark.parametrize("raw", ["", "8503120431", "850312043111", "8503120431x", "abcdefghijk"])
def test_pesel_of_wrong_length_or_with_letters_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        Pesel.parse(raw)


def test_pesel_never_shows_the_number_in_its_repr_or_error_message() -> None:
    assert JAN not in repr(Pesel.parse(JAN))

    wrong = JAN[:-1] + str((int(JAN[-1]) + 1) % 10)
    with pytest.raises(InvalidInput) as error:
        Pesel.parse(wrong)
    assert wrong not in str(error.value)
    assert all(wrong not in e.message for e in error.value.errors)


def test_pesel_born_on_29_february_of_a_leap_year_is_accepted() -> None:
    assert Pesel.parse(pesel_for(date(2000, 2, 29), 1234)).birth_date == date(2000, 2, 29)


@quick
@given(born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)), serial=st.integers(0, 9999))
def test_any_pesel_built_from_a_date_and_serial_round_trips_its_birth_date_and_sex(born: date, serial: int) -> None:
    pesel = Pesel.parse(pesel_for(born, serial))

    assert pesel.birth_date == born
    # The last digit of the serial tells the sex: odd for men, even for women.
    assert pesel.sex == (Sex.MALE if serial % 2 else Sex.FEMALE)


@quick
@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    serial=st.integers(0, 9999),
    position=st.integers(0, 10),
    shift=st.integers(1, 9),
)
def test_changing_any_single_digit_of_a_valid_pesel_makes_it_invalid(
    born: date, serial: int, position: int, shift: int
) -> None:
    valid = pesel_for(born, serial)
    changed = valid[:position] + str((int(valid[position]) + shift) % 10) + valid[position + 1 :]

    with pytest.raises(InvalidInput):
        Pesel.parse(changed)


@settings(database=None, max_examples=2000, deadline=None)
@given(
    digits=st.text(alphabet="0123456789", min_size=10, max_size=10),
    wrapped=st.sampled_from(["{}", " {} ", "{}-", "{:.6}-{}"]),
    born_any_century=st.integers(0, 4),
)
def test_pesel_accepts_exactly_the_numbers_stdnum_accepts_with_the_same_birth_date_and_sex(
    digits: str, wrapped: str, born_any_century: int
) -> None:
    # Months 01-12, 21-32, 41-52, 61-72, 81-92 are the five centuries; most random months are none of them.
    month = int(digits[2:4]) % 20 + 20 * born_any_century
    digits = f"{digits[:2]}{month:02d}{digits[4:]}"
    number = digits + stdnum_pesel.calc_check_digit(digits)
    raw = wrapped.format(number, number[6:]) if "6" in wrapped else wrapped.format(number)

    if not stdnum_pesel.is_valid(raw):
        with pytest.raises(InvalidInput):
            Pesel.parse(raw)
        return
    pesel = Pesel.parse(raw)
    assert pesel.value == stdnum_pesel.compact(raw)
    assert pesel.birth_date == stdnum_pesel.get_birth_date(raw)
    assert pesel.sex == Sex(stdnum_pesel.get_gender(raw))


# --------------------------------------------------------------------------- REGON and NIP


@pytest.mark.parametrize("number", ["123456785", "12345678500010"])
def test_regon_of_nine_or_fourteen_digits_with_its_checksum_is_accepted(number: str) -> None:
    assert Regon.parse(number).value == number


@pytest.mark.parametrize(
    "number",
    [
        "123456784",  # last digit wrong
        "12345678500011",  # 14-digit checksum wrong
        "12345678400010",  # the embedded 9-digit REGON is wrong
        "1234567850",  # 10 digits
        "12345678",
    ],
)
def test_regon_with_a_wrong_checksum_or_length_is_refused_on_its_field(number: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Regon.parse(number)

    assert fields_of(error) == ["regon"]


def test_nip_written_with_dashes_is_stored_as_ten_digits() -> None:
    assert Nip.parse("526-025-09-95").value == "5260250995"


@pytest.mark.parametrize("number", ["5260250996", "526025099", "52602509951", "abcdefghij"])
def test_nip_with_a_wrong_checksum_or_length_is_refused_on_its_field(number: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Nip.parse(number, field="institution.nip")

    assert fields_of(error) == ["institution.nip"]


# --------------------------------------------------------------------------- TERYT


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("28", TerytLevel.VOIVODESHIP),
        ("2802", TerytLevel.POWIAT),
        ("2802011", TerytLevel.GMINA),  # Bartoszyce, urban gmina
        ("1465011", TerytLevel.GMINA),  # Warszawa
        ("1465028", TerytLevel.GMINA),  # Bemowo, a district of Warsaw: type digit 8
    ],
)
def test_teryt_code_tells_its_level_by_length(code: str, level: TerytLevel) -> None:
    assert Teryt.parse(code).level == level


def test_teryt_surrounding_spaces_are_ignored() -> None:
    assert Teryt.parse(" 2802 ").value == "2802"


def test_a_gmina_lies_in_its_powiat_and_voivodeship_but_not_in_a_neighbouring_powiat() -> None:
    voivodeship, powiat, gmina = Teryt.parse("28"), Teryt.parse("2802"), Teryt.parse("2802053")

    assert voivodeship.contains(powiat)
    assert voivodeship.contains(gmina)
    assert powiat.contains(gmina)
    assert not gmina.contains(powiat)
    assert not Teryt.parse("2803").contains(gmina)
    assert not Teryt.parse("30").contains(gmina)


@pytest.mark.parametrize(
    "code",
    [
        "01",  # voivodeships are even numbers 02..32
        "34",
        "00",
        "2800",  # powiat 00
        "2802001",  # gmina number 00
        "2802016",  # type digit 6 does not exist
        "2802010",  # type digit 0 does not exist
        "280",
        "28020",
        "28a2",
        "",
    ],
)
def test_teryt_code_naming_no_real_unit_is_refused(code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Teryt.parse(code, field="family.teryt")

    assert fields_of(error) == ["family.teryt"]


# --------------------------------------------------------------------------- documents, addresses, contacts


def test_identity_document_number_and_country_are_normalised_to_upper_case() -> None:
    document = IdentityDocument.parse(kind="PASSPORT", number=" fa123456 ", country="ua")

    assert document == IdentityDocument(kind="PASSPORT", number="FA123456", country="UA")


def test_identity_document_reports_every_bad_field_at_once() -> None:
    with pytest.raises(InvalidInput) as error:
        IdentityDocument.parse(kind="PASSPORT", number="F!", country="Ukraine")

    assert set(fields_of(error)) == {"identity_document.number", "identity_document.country"}


@pytest.mark.parametrize("number", ["AB", "X" * 31, "AB#123"])
def test_identity_document_number_too_short_too_long_or_with_symbols_is_refused(number: str) -> None:
    with pytest.raises(InvalidInput) as error:
        IdentityDocument.parse(kind="ID_CARD", number=number, country="PL")

    assert fields_of(error) == ["identity_document.number"]


def test_address_accepts_a_polish_postal_code_or_none() -> None:
    assert Address(street="ul. Kętrzyńskiego 1", postal_code="11-200", city="Bartoszyce").postal_code == "11-200"
    assert Address().postal_code is None


@pytest.mark.parametrize("postal_code", ["11200", "11-2000", "1-200", "AB-CDE", ""])
def test_address_with_a_malformed_postal_code_is_refused(postal_code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Address(postal_code=postal_code)

    assert fields_of(error) == ["address.postal_code"]


def test_contact_accepts_an_email_and_a_phone_number_with_country_code() -> None:
    contact = Contact(email="ops@bartoszyce.pl", phone="+48 89 762 00 00")

    assert (contact.email, contact.phone) == ("ops@bartoszyce.pl", "+48 89 762 00 00")


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        ({"email": "ops.bartoszyce.pl"}, "contact.email"),
        ({"email": "ops@bartoszyce"}, "contact.email"),
        ({"email": "o ps@bartoszyce.pl"}, "contact.email"),
        ({"phone": "12345"}, "contact.phone"),
        ({"phone": "call me maybe"}, "contact.phone"),
    ],
)
def test_contact_with_a_malformed_email_or_phone_is_refused_on_that_field(contact: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Contact(**contact)

    assert fields_of(error) == [field]
