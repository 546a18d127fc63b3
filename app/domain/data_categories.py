"""The categories of personal data that agreements, consents, the access policy and the audit speak of."""

from __future__ import annotations

from enum import StrEnum


class DataCategory(StrEnum):
    IDENTITY = "identity"  # names, birth date, sex, PESEL, identity document
    CONTACT = "contact"
    HOUSEHOLD = "household"  # family composition and roles
    SOCIAL_ASSISTANCE_STATUS = "social_assistance_status"  # status and worker at an OPS/PCPR
    BENEFITS = "benefits"
    LABOUR_MARKET_STATUS = "labour_market_status"  # status and worker at a PUP
    CONTRACT = "contract"  # diagnoses, baskets, contracts, deliveries
    REFERRAL = "referral"
    HEALTH = "health"
    # Niebieska Karta: no agreement or consent opens it; only the owning interdisciplinary team sees it.
    DOMESTIC_VIOLENCE = "domestic_violence"


SHAREABLE_CATEGORIES = frozenset(DataCategory) - {DataCategory.DOMESTIC_VIOLENCE}
RESTRICTED_CATEGORIES = frozenset({DataCategory.DOMESTIC_VIOLENCE})
