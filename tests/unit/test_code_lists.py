"""The code lists shipped with the service: complete, documented, and enforced by `require`."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.code_lists import CodeLists, default_code_lists
from app.domain.errors import InvalidInput

# Every list named in the shared code-list document (codes.md), with the codes it gives.
EXPECTED: dict[str, set[str]] = {
    "ReasonForAssistance": {
        "POVERTY",
        "ORPHANHOOD",
        "HOMELESSNESS",
        "UNEMPLOYMENT",
        "DISABILITY",
        "LONG_ILLNESS",
        "DOMESTIC_VIOLENCE",
        "TRAFFICKING_VICTIM",
        "MATERNITY_LARGE_FAMILY",
        "PARENTING_HELPLESSNESS",
        "FOREIGNER_INTEGRATION",
        "PRISON_RELEASE",
        "ADDICTION",
        "CRISIS_EVENT",
        "DISASTER",
        "OTHER",
    },
    "AssistanceForm": {
        "PERMANENT_ALLOWANCE",
        "PERIODIC_ALLOWANCE",
        "PURPOSE_ALLOWANCE",
        "SPECIAL_PURPOSE_ALLOWANCE",
        "SELF_SUFFICIENCY_AID",
        "LEAVING_CARE_AID",
        "REFUGEE_ALLOWANCE",
        "SOCIAL_WORK",
        "SOCIAL_CONTRACT",
        "HEALTH_CONTRIB",
        "PENSION_CONTRIB",
        "IN_KIND",
        "SHELTER",
        "MEAL",
        "CLOTHING",
        "FUNERAL",
        "COUNSELLING",
        "CRISIS_INTERVENTION",
        "CARE_SERVICES",
        "SPECIALIST_CARE",
        "SUPPORTED_HOUSING",
        "SUPPORT_CENTRE",
        "NURSING_HOME",
    },
    "PupClientStatus": {
        "UNEMPLOYED",
        "JOB_SEEKER",
        "LONG_TERM_UNEMPLOYED",
        "DEREGISTERED",
        "PROFILE_I",
        "PROFILE_II",
        "PROFILE_III",
    },
    "LabourMarketInstrument": {
        "JOB_PLACEMENT",
        "CAREER_GUIDANCE",
        "TRAINING",
        "INTERNSHIP",
        "INTERVENTION_WORK",
        "PUBLIC_WORKS",
        "SOCIALLY_USEFUL_WORK",
        "ADULT_VOC_PREP",
        "INTERNSHIP_VOUCHER",
        "RELOCATION_VOUCHER",
        "WORKSTATION_REFUND",
        "STARTUP_GRANT",
        "TRAVEL_CARE_REFUND",
        "WAGE_SUBSIDY_50PLUS",
        "EDUCATION_LOAN",
        "KFS",
        "IPD",
    },
    "InstitutionType": {
        "OPS",
        "MOPS",
        "GOPS",
        "MGOPS",
        "CUS",
        "PCPR",
        "MOPR",
        "PUP",
        "WUP",
        "NGO",
        "CIS",
        "KIS",
        "ROPS",
        "ZI",
    },
    "BlueCardForm": {"NK_A", "NK_B", "NK_C", "NK_D"},
    "Report": {"MRPIPS_03", "MK1", "MK2"},
    "InstrumentCategory": {"HEALTH", "SOCIAL", "EDUCATIONAL", "VOCATIONAL"},
    "SpecialistRole": {
        "CAREER_ADVISER",
        "JOB_BROKER",
        "INTERNSHIP_OFFICER",
        "SOCIAL_WORKER",
        "PSYCHOLOGIST",
        "PEDAGOGUE",
        "FAMILY_ASSISTANT",
        "REHABILITATOR",
        "SOCIOLOGIST",
        "IT_TRAINER",
        "JOB_COACH",
        "OTHER",
    },
    "BenefitLegalBasis": {
        "SOCIAL_ASSISTANCE_ACT",
        "HOUSING_ALLOWANCE_ACT",
        "FAMILY_BENEFITS_ACT",
        "ALIMONY_FUND_ACT",
        "SOCIALLY_USEFUL_WORK",
        "MEDICAL_EXAMS",
        "VOCATIONAL_COURSES",
        "INTERNSHIP_STIPEND",
        "OTHER",
    },
    "OutcomeKind": {
        "TRAINING_COMPLETED",
        "SOCIALLY_USEFUL_WORK",
        "INTERNSHIP_STARTED",
        "INTERNSHIP_COMPLETED",
        "EMPLOYED_OPEN_MARKET",
        "SOCIAL_EMPLOYMENT",
        "EDUCATION_RESUMED",
        "DROPPED_OUT",
        "OTHER",
    },
}

# The lists the use cases validate against, beyond those of codes.md.
USED_BY_USE_CASES = {"FamilyRole", "SocialAssistanceStatus", "ParticipantStatus", "IdentityDocumentKind"}


@pytest.fixture(scope="module")
def codes() -> CodeLists:
    return default_code_lists()


def all_codes(codes: CodeLists) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in codes.names():
        code_list = codes.get(name)
        assert code_list is not None
        found.extend((name, c.code) for c in code_list.codes)
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_list_of_the_code_document_is_shipped_with_all_its_codes(codes: CodeLists, name: str) -> None:
    code_list = codes.get(name)

    assert code_list is not None, f"{name} is missing"
    assert {c.code for c in code_list.codes} >= EXPECTED[name]


def test_the_lists_the_use_cases_validate_against_are_shipped(codes: CodeLists) -> None:
    assert set(codes.names()) >= USED_BY_USE_CASES


def test_no_list_repeats_a_code(codes: CodeLists) -> None:
    for name in codes.names():
        code_list = codes.get(name)
        assert code_list is not None
        values = [c.code for c in code_list.codes]
        assert len(values) == len(set(values)), name


def test_every_code_names_its_legal_basis_both_names_and_a_validity_that_starts_before_it_ends(
    codes: CodeLists,
) -> None:
    for name in codes.names():
        code_list = codes.get(name)
        assert code_list is not None
        assert code_list.description.strip(), name
        for code in code_list.codes:
            assert code.legal_basis.strip(), f"{name}.{code.code} has no legal basis"
            assert code.name_pl.strip(), f"{name}.{code.code} has no Polish name"
            assert code.name_en.strip(), f"{name}.{code.code} has no English name"
            assert isinstance(code.valid_from, date), f"{name}.{code.code} has no valid_from"
            assert code.valid_to is None or code.valid_to >= code.valid_from, f"{name}.{code.code}"


def test_institution_types_tell_the_basis_of_data_access(codes: CodeLists) -> None:
    types = codes.get("InstitutionType")
    assert types is not None
    group = {c.code: c.group for c in types.codes}

    assert {group[t] for t in ("OPS", "MOPS", "GOPS", "PCPR", "PUP")} == {"STATUTORY"}
    assert group["NGO"] == "CONSENT"
    assert group["ZI"] == "RESTRICTED"


def test_cash_and_non_cash_assistance_forms_are_told_apart(codes: CodeLists) -> None:
    forms = codes.get("AssistanceForm")
    assert forms is not None
    group = {c.code: c.group for c in forms.codes}

    assert group["PERIODIC_ALLOWANCE"] == "CASH"
    assert group["SOCIAL_WORK"] == "NON_CASH"


def test_require_returns_a_valid_code_with_its_names(codes: CodeLists) -> None:
    found = codes.require("PupClientStatus", "UNEMPLOYED", field="status", on=date(2025, 9, 1))

    assert found.code == "UNEMPLOYED"
    assert found.name_pl == "bezrobotny"


def test_require_refuses_an_unknown_code_naming_the_field(codes: CodeLists) -> None:
    with pytest.raises(InvalidInput) as error:
        codes.require("FamilyRole", "COUSIN_TWICE_REMOVED", field="members[1].role", on=date(2025, 3, 10))

    assert [e.field for e in error.value.errors] == ["members[1].role"]
    assert "COUSIN_TWICE_REMOVED" in error.value.detail


def test_require_refuses_a_code_of_another_list(codes: CodeLists) -> None:
    with pytest.raises(InvalidInput):
        codes.require("SocialAssistanceStatus", "UNEMPLOYED", field="enrollment.status", on=date(2025, 3, 10))


def test_legacy_pup_profile_is_accepted_up_to_its_last_valid_day(codes: CodeLists) -> None:
    assert codes.require("PupClientStatus", "PROFILE_I", field="status", on=date(2025, 5, 31)).code == "PROFILE_I"


@pytest.mark.parametrize("profile", ["PROFILE_I", "PROFILE_II", "PROFILE_III"])
def test_legacy_pup_profile_is_refused_after_the_2025_labour_market_act(codes: CodeLists, profile: str) -> None:
    with pytest.raises(InvalidInput) as error:
        codes.require("PupClientStatus", profile, field="enrollment.status", on=date(2025, 6, 1))

    assert [e.field for e in error.value.errors] == ["enrollment.status"]
    assert "2025-06-01" in error.value.detail


def test_code_is_refused_before_the_law_that_introduced_it(codes: CodeLists) -> None:
    education_loan = codes.require("LabourMarketInstrument", "EDUCATION_LOAN", field="instrument", on=date(2025, 6, 1))
    assert education_loan.valid_from == date(2025, 6, 1)

    with pytest.raises(InvalidInput) as error:
        codes.require("LabourMarketInstrument", "EDUCATION_LOAN", field="instrument", on=date(2025, 5, 31))

    assert [e.field for e in error.value.errors] == ["instrument"]


def test_every_shipped_code_is_accepted_on_its_first_valid_day(codes: CodeLists) -> None:
    for name, value in all_codes(codes):
        code_list = codes.get(name)
        assert code_list is not None
        code = code_list.get(value)
        assert code is not None
        assert codes.require(name, value, field="f", on=code.valid_from) == code
