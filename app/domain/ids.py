"""Typed identifiers: a family id cannot be passed where a person id is expected."""

from typing import NewType
from uuid import UUID, uuid4

InstitutionId = NewType("InstitutionId", UUID)
WorkerId = NewType("WorkerId", UUID)
PersonId = NewType("PersonId", UUID)
EnrollmentId = NewType("EnrollmentId", UUID)
FamilyId = NewType("FamilyId", UUID)
MembershipId = NewType("MembershipId", UUID)
AuditEventId = NewType("AuditEventId", UUID)
ReferralId = NewType("ReferralId", UUID)
EventId = NewType("EventId", UUID)
SubscriptionId = NewType("SubscriptionId", UUID)
DeliveryId = NewType("DeliveryId", UUID)
PartnershipId = NewType("PartnershipId", UUID)
DiagnosisId = NewType("DiagnosisId", UUID)
ContractId = NewType("ContractId", UUID)
ContractActionId = NewType("ContractActionId", UUID)
HoursRecordId = NewType("HoursRecordId", UUID)
BenefitId = NewType("BenefitId", UUID)
OutcomeRecordId = NewType("OutcomeRecordId", UUID)
AgreementId = NewType("AgreementId", UUID)
ConsentId = NewType("ConsentId", UUID)
RestrictedRecordId = NewType("RestrictedRecordId", UUID)
PersonMergeId = NewType("PersonMergeId", UUID)
DifferenceId = NewType("DifferenceId", UUID)
ResolutionId = NewType("ResolutionId", UUID)


def new_id() -> UUID:
    return uuid4()
