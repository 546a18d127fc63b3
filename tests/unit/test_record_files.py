"""Reading export files with the mapping profiles, without a database: encodings, separators, spreadsheets,
XML paths, dates, codes, duplicates and per-institution overrides."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from app.adapters.record_systems.profiles import ProfileError, deep_merge, load_profile, shipped_profiles
from app.adapters.record_systems.readers import FileProblem, decode, detect_format, read_rows
from app.adapters.record_systems.rows import check_rows
from app.domain.record_imports import mask_pesel
from tests.record_files import csv_file, sample_for, with_change, xlsx_file, xml_file


def test_the_four_profiles_are_shipped_and_each_reads_every_format() -> None:
    assert shipped_profiles() == ["generic-csv", "pomost-std", "syriusz-std", "tt-pomoc"]
    for name in shipped_profiles():
        profile = load_profile(name)
        assert profile.formats == ("csv", "xlsx", "xml")
        assert profile.version >= 1


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("Łącka;Żółw".encode(), "Łącka;Żółw"),
        (b"\xef\xbb\xbf" + "Łącka".encode(), "Łącka"),
        ("Łącka;Żółw".encode("cp1250"), "Łącka;Żółw"),
    ],
)
def test_utf8_with_or_without_bom_and_windows_1250_are_read(data: bytes, text: str) -> None:
    assert decode(data, "windows-1250") == text


@pytest.mark.parametrize("data", ["Łucja".encode("utf-16"), "Michał".encode("cp852"), b"\x00\x01binary"])
def test_text_in_neither_encoding_is_refused_clearly(data: bytes) -> None:
    with pytest.raises(FileProblem) as problem:
        decode(data, "windows-1250")

    assert problem.value.message == "the file is not UTF-8 or Windows-1250 text"


def test_the_separator_is_found_from_the_header_when_the_profile_leaves_it_open() -> None:
    profile, people = sample_for("generic-csv", 3)
    for delimiter in (",", ";", "\t"):
        _, rows = read_rows(csv_file(people, profile, delimiter=delimiter), "dane.csv", profile)
        assert [r.values["last_name"] for r in rows] == [p.last_name for p in people]


def test_a_quoted_cell_over_two_lines_keeps_the_line_where_its_row_starts() -> None:
    profile = load_profile("generic-csv")
    data = b'external_ref;first_name;last_name;status\n1;"Anna\nMaria";Nowak;X\n2;Jan;Nowak;X\n'

    _, rows = read_rows(data, "dane.csv", profile)

    assert [(r.line, r.values["first_name"]) for r in rows] == [(2, "Anna\nMaria"), (4, "Jan")]


def test_a_spreadsheet_pesel_that_lost_its_leading_zero_is_read_whole() -> None:
    profile, people = sample_for("generic-csv", 30)
    young = next(p for p in people if p.pesel and p.pesel.startswith("0"))

    _, rows = read_rows(xlsx_file(people, profile, pesel_as_number=True), "dane.xlsx", profile)

    found = next(r for r in rows if r.values["external_ref"] == young.ref)
    assert found.values["pesel"] == young.pesel
    assert found.line == people.index(young) + 2  # the row number a spreadsheet shows


def test_a_workbook_without_the_profiles_sheet_is_refused() -> None:
    profile, people = sample_for("pomost-std", 2)
    data = xlsx_file(people, load_profile("generic-csv"))

    with pytest.raises(FileProblem) as problem:
        read_rows(data, "osoby.xlsx", profile)

    assert "no sheet 'Osoby'" in problem.value.message


def test_xml_paths_reach_attributes_children_and_the_parent_household() -> None:
    profile, people = sample_for("pomost-std", 5)
    data = xml_file(people, profile, encoding="windows-1250")

    _, rows = read_rows(data, "eksport.xml", profile)

    assert [r.values["external_ref"] for r in rows] == [p.ref for p in people]
    assert [r.values["household_ref"] for r in rows] == [p.household_ref for p in people]
    assert rows[0].values["last_name"] == people[0].last_name
    lines = data.decode("cp1250").splitlines()
    assert [lines[r.line - 1].strip().startswith("<osoba") for r in rows] == [True] * 5


def test_dates_are_read_in_the_profiles_formats() -> None:
    pomost, tt = load_profile("pomost-std"), load_profile("tt-pomoc")

    assert str(pomost.parse_date("01.03.2026")) == "2026-03-01"
    assert str(pomost.parse_date("2026-03-01")) == "2026-03-01"
    assert pomost.parse_date("31.02.2026") is None
    assert str(tt.parse_date("01-03-2026")) == "2026-03-01"
    assert pomost.human_date_formats() == "DD.MM.RRRR or RRRR-MM-DD"


def test_vendor_codes_map_to_spojnias_and_back() -> None:
    pomost, syriusz, generic = load_profile("pomost-std"), load_profile("syriusz-std"), load_profile("generic-csv")

    assert pomost.to_shared_code("status", " ks ") == "SOCIAL_CONTRACT"
    assert pomost.to_shared_code("role", "WN") == "PARENT"
    assert pomost.to_vendor_code("role", "PARENT") == "WN"
    assert syriusz.to_shared_code("status", "BD") == "LONG_TERM_UNEMPLOYED"
    assert generic.to_shared_code("status", "PARTICIPANT") == "PARTICIPANT"
    assert pomost.to_shared_code("status", "??") is None


def test_rows_that_break_a_rule_are_named_with_the_pesel_masked() -> None:
    profile, people = sample_for("pomost-std", 4)
    bad = with_change(people, 0, pesel="85031212345")
    bad = with_change(bad, 1, pesel=people[0].pesel)  # the first's PESEL under the second's ref
    bad = with_change(bad, 2, first_name="Jan 85031204311")
    _, raws = read_rows(csv_file(bad, profile), "osoby.csv", profile)

    parsed = check_rows(raws, profile)

    assert [(r.line, r.field) for r in parsed.rejects] == [
        (2, "pesel"),
        (3, "birth_date"),
        (3, "sex"),
        (4, "first_name"),
    ]
    assert parsed.rejects[0].reason == "PESEL 850312***** is not valid (length, birth date or checksum)"
    assert [r.line for r in parsed.rows] == [5]


def test_the_same_pesel_under_two_refs_rejects_both_lines() -> None:
    profile, people = sample_for("generic-csv", 3)
    twice = with_change(people, 2, pesel=people[0].pesel, birth_date=people[0].birth_date, sex=people[0].sex)
    _, raws = read_rows(csv_file(twice, profile), "dane.csv", profile)

    parsed = check_rows(raws, profile)

    assert [(r.line, r.field) for r in parsed.rejects] == [(2, "pesel"), (4, "pesel")]
    assert "lines 2, 4" in parsed.rejects[0].reason
    assert [r.line for r in parsed.rows] == [3]


def test_the_format_is_told_by_the_name_or_else_by_the_content() -> None:
    assert detect_format("a.XLSX", b"") == "xlsx"
    assert detect_format("eksport", b"PK\x03\x04...") == "xlsx"
    assert detect_format("eksport", b"\xef\xbb\xbf<?xml ...") == "xml"
    assert detect_format("eksport.txt", b"a;b") == "csv"


def test_an_override_merges_over_the_profile_key_by_key(tmp_path: Path) -> None:
    institution = uuid4()
    (tmp_path / f"{institution}.tt-pomoc.yaml").write_text(
        "csv:\n  delimiter: ','\ncodes:\n  status:\n    '7': CLOSED\n", encoding="utf-8"
    )

    adjusted = load_profile("tt-pomoc", institution_id=institution, overrides_dir=tmp_path)
    other = load_profile("tt-pomoc", institution_id=uuid4(), overrides_dir=tmp_path)

    assert adjusted.delimiter == ","
    assert adjusted.encoding == "windows-1250", "what the override leaves out stays"
    assert adjusted.to_shared_code("status", "7") == "CLOSED"
    assert adjusted.to_shared_code("status", "2") == "BENEFIT_RECIPIENT"
    assert other.delimiter == ";"
    assert deep_merge({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": 3}, "l": [2]}) == {"a": {"b": 3, "c": 2}, "l": [2]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("persons:\n  columns:\n    shoe_size: ROZMIAR\n", "unknown fields: shoe_size"),
        ("csv:\n  encoding: klingon\n", "no such encoding"),
        ("persons: [\n", "not valid YAML"),
    ],
)
def test_a_broken_override_is_refused_with_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    institution = uuid4()
    (tmp_path / f"{institution}.pomost-std.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(ProfileError) as refused:
        load_profile("pomost-std", institution_id=institution, overrides_dir=tmp_path)

    assert message in str(refused.value)


def test_an_unknown_profile_names_the_shipped_ones() -> None:
    with pytest.raises(ProfileError) as refused:
        load_profile("pomost")

    assert "generic-csv, pomost-std, syriusz-std, tt-pomoc" in str(refused.value)


def test_a_pesel_is_masked_to_its_birth_date() -> None:
    assert mask_pesel("85031204311") == "850312*****"
    assert mask_pesel("123") == "***"


def test_a_pesel_in_a_column_of_its_own_is_never_echoed_into_the_report() -> None:
    profile = load_profile("generic-csv")
    data = (
        b"external_ref;pesel;first_name;last_name;birth_date;status\n"
        b"85031204311;;Jan;Nowak;1985-03-12;APPLICANT\n"
        b"2;;Anna;Nowak;87082405628;APPLICANT\n"
    )
    _, raws = read_rows(data, "dane.csv", profile)

    parsed = check_rows(raws, profile)

    assert [(r.line, r.field) for r in parsed.rejects] == [(2, "external_ref"), (3, "birth_date")]
    assert parsed.rejects[0].external_ref == "850312*****"
    assert "'870824*****' is not a date" in parsed.rejects[1].reason
    assert not any("85031204311" in str(r) or "87082405628" in str(r) for r in parsed.rejects)
