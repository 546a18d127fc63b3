"""Demo of the work with families: the county partnership, the Nowaks with an active tri-party
contract and a delivery record, the Wiśniewskis whose contract awaits the coordinating team."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from app.domain.caller import ALL_SCOPES, Caller
from app.domain.clock import local_date
from app.domain.contracts import ContractKind, ContractStep, SignatureMethod
from app.domain.diagnoses import AreaAssessment
from app.domain.ids import FamilyId, InstitutionId, PartnershipId, PersonId, WorkerId
from app.domain.partnerships import TeamMember
from app.domain.referrals import Action, RequestedInstrument
from app.domain.services import contracts, delivery_records, families, family_work, persons, referrals
from app.domain.services.context import UseCaseContext
from app.domain.services.views import FamilyView

PARTNERSHIP_ID = PartnershipId(UUID("00000000-0000-4000-8000-0000000000a1"))


def _as(institution_id: InstitutionId, worker_id: WorkerId) -> Caller:
    return Caller(
        subject="demo-seed",
        institution_id=institution_id,
        scopes=frozenset(ALL_SCOPES),
        roles=frozenset(),
        worker_id=worker_id,
        request_id="seed-demo",
    )


async def seed_family_work(
    ctx: UseCaseContext, ids: dict[str, InstitutionId], workers: dict[str, list[WorkerId]], nowak: FamilyView
) -> None:
    ops, pup, ngo, pcpr = (_as(ids[k], workers[k][0]) for k in ("ops", "pup", "ngo", "pcpr"))
    await family_work.create_partnership(
        ctx,
        None,
        family_work.NewPartnership(
            name="Partnerstwo na rzecz rodzin Powiatu Bartoszyckiego",
            teryt="2801",
            members=[ids["pcpr"], ids["ops"], ids["pup"], ids["ngo"]],
            coordinating_team=[
                TeamMember(worker_id=workers["pcpr"][0], institution_id=ids["pcpr"]),
                TeamMember(worker_id=workers["pup"][1], institution_id=ids["pup"]),
            ],
            mobile_team=[
                TeamMember(worker_id=workers["ops"][0], institution_id=ids["ops"]),
                TeamMember(worker_id=workers["ops"][1], institution_id=ids["ops"]),
                TeamMember(worker_id=workers["pup"][0], institution_id=ids["pup"]),
            ],
        ),
        partnership_id=PARTNERSHIP_ID,
    )

    today = local_date(ctx.clock.now())
    month_ago = today - timedelta(days=30)
    # Members come in order of joining, and the Nowaks joined on one day: find each by name, not by place.
    by_name = {m.person.person.first_name: m.person.person.id for m in nowak.members}
    jan, maria, kacper = by_name["Jan"], by_name["Maria"], by_name["Kacper"]
    await family_work.add_diagnosis(
        ctx,
        ops,
        family_work.NewDiagnosis(
            family_id=nowak.family.id,
            diagnosed_on=month_ago,
            areas=[
                AreaAssessment(
                    area="WORK",
                    resources="ojciec: prawo jazdy kat. C",
                    deficits="oboje rodzice bez pracy od 3 lat",
                    urgent_needs="zatrudnienie jednego z rodziców",
                ),
                AreaAssessment(
                    area="EDUCATION",
                    resources="dzieci chodzą do szkoły",
                    deficits="zaległości Kacpra",
                    urgent_needs="korepetycje z matematyki",
                ),
                AreaAssessment(
                    area="FINANCES",
                    resources="zasiłek okresowy",
                    deficits="zadłużenie czynszowe",
                    urgent_needs="plan spłaty",
                ),
            ],
        ),
    )
    contract = await contracts.create_contract(
        ctx,
        ops,
        contracts.NewContract(
            kind=ContractKind.TRI_PARTY_FAMILY,
            partnership_id=PARTNERSHIP_ID,
            family_id=nowak.family.id,
            institutions=[ids["ops"], ids["pup"]],
            signing_members=[jan, maria],
            terms=contracts.NewTerms(
                goals=["Zatrudnienie ojca na otwartym rynku pracy", "Wyrównanie zaległości szkolnych Kacpra"],
                actions=[
                    contracts.NewAction(
                        description="Doradztwo zawodowe i kurs operatora wózka widłowego",
                        instrument=RequestedInstrument(code_list="LabourMarketInstrument", code="TRAINING"),
                        member_ids=[jan],
                        responsible=str(ids["pup"]),
                        due=today + timedelta(days=60),
                    ),
                    contracts.NewAction(
                        description="Praca socjalna i plan spłaty zadłużenia",
                        instrument=RequestedInstrument(code_list="AssistanceForm", code="SOCIAL_WORK"),
                        member_ids=[jan, maria],
                        responsible=str(ids["ops"]),
                    ),
                    contracts.NewAction(
                        description="Korepetycje z matematyki dwa razy w tygodniu",
                        member_ids=[kacper],
                        responsible="FAMILY",
                    ),
                ],
            ),
        ),
    )
    version = contract.version
    for caller, step, signer in (
        (ops, ContractStep.SUBMIT, None),
        (pcpr, ContractStep.APPROVE, None),
        (ops, ContractStep.SIGN, "institution"),
        (pup, ContractStep.SIGN, "institution"),
        (ops, ContractStep.SIGN, str(jan)),
        (ops, ContractStep.SIGN, str(maria)),
    ):
        contract = await contracts.take_step(
            ctx,
            caller,
            contracts.TakeStep(
                contract_id=contract.id,
                expected_version=version,
                step=step,
                signer=signer,
                method=SignatureMethod.IN_PERSON,
            ),
        )
        version = contract.version

    for caller, role, person, hours in (
        (pup, "CAREER_ADVISER", jan, "2.5"),
        (ops, "SOCIAL_WORKER", maria, "3"),
        (ngo, "PSYCHOLOGIST", maria, "1.5"),
        (pup, "JOB_BROKER", jan, "1"),
    ):
        if caller is ngo:
            await persons.register_person(
                ctx,
                ngo,
                persons.RegisterPerson(
                    first_name="Maria",
                    last_name="Nowak",
                    pesel="87082405628",
                    enrollment=persons.EnrollmentDetails(status="PARTICIPANT"),
                ),
            )
        await delivery_records.record_hours(
            ctx,
            caller,
            delivery_records.RecordHours(
                role=role, person_id=person, on=month_ago + timedelta(days=3), hours=Decimal(hours)
            ),
        )
    await delivery_records.record_hours(
        ctx,
        ops,
        delivery_records.RecordHours(
            role="FAMILY_ASSISTANT", family_id=nowak.family.id, on=month_ago + timedelta(days=5), hours=Decimal("4")
        ),
    )
    await delivery_records.record_benefit(
        ctx,
        ops,
        delivery_records.RecordBenefit(
            legal_basis="SOCIAL_ASSISTANCE_ACT",
            amount=Decimal("612.50"),
            paid_on=month_ago + timedelta(days=1),
            person_id=jan,
        ),
    )
    await delivery_records.record_benefit(
        ctx,
        ops,
        delivery_records.RecordBenefit(
            legal_basis="FAMILY_BENEFITS_ACT",
            amount=Decimal("285.00"),
            paid_on=month_ago + timedelta(days=1),
            person_id=maria,
        ),
    )
    await delivery_records.record_outcome(
        ctx,
        pup,
        delivery_records.RecordOutcome(
            person_id=jan,
            kind="TRAINING_COMPLETED",
            on=today - timedelta(days=2),
            source_type="contract_action",
            source_id=str(contract.terms.actions[0].id),
        ),
    )

    sent = await referrals.create_referral(
        ctx,
        ops,
        referrals.CreateReferral(
            receiver_id=ids["pup"],
            person_id=maria,
            reason="UNEMPLOYMENT",
            send=True,
            instrument=RequestedInstrument(code_list="LabourMarketInstrument", code="INTERNSHIP"),
            justification="Matka gotowa do podjęcia stażu",
        ),
    )
    referral = sent.referral
    for action in (Action.RECEIVE, Action.ACCEPT):
        referral = (
            await referrals.take_action(
                ctx,
                pup,
                referrals.TakeAction(referral_id=referral.id, expected_version=referral.version, action=action),
            )
        ).referral

    # The Wiśniewskis: diagnosed, their contract submitted and waiting for the coordinating team.
    wisniewski = []
    for first, pesel in (("Paweł", "79061512353"), ("Agnieszka", "83110922442")):
        registered = await persons.register_person(
            ctx,
            ops,
            persons.RegisterPerson(
                first_name=first,
                last_name="Wiśniewski" if first == "Paweł" else "Wiśniewska",
                pesel=pesel,
                enrollment=persons.EnrollmentDetails(status="SOCIAL_WORK_CLIENT", worker_id=workers["ops"][1]),
            ),
        )
        await persons.register_person(
            ctx,
            pup,
            persons.RegisterPerson(
                first_name=first,
                last_name="Wiśniewski",
                pesel=pesel,
                enrollment=persons.EnrollmentDetails(status="UNEMPLOYED"),
            ),
        )
        wisniewski.append(PersonId(registered.view.person.id))
    family = await families.create_family(
        ctx,
        ops,
        families.CreateFamily(
            name="Rodzina Wiśniewskich",
            teryt="2801011",
            members=[families.NewMember(person_id=p, role="PARENT") for p in wisniewski],
        ),
    )
    await family_work.add_diagnosis(
        ctx,
        ops,
        family_work.NewDiagnosis(
            family_id=FamilyId(family.family.id),
            diagnosed_on=today,
            areas=[
                AreaAssessment(area="WORK", resources="", deficits="brak kwalifikacji", urgent_needs="kurs zawodowy")
            ],
        ),
    )
    waiting = await contracts.create_contract(
        ctx,
        ops,
        contracts.NewContract(
            kind=ContractKind.TRI_PARTY_FAMILY,
            partnership_id=PARTNERSHIP_ID,
            family_id=family.family.id,
            institutions=[ids["ops"], ids["pup"]],
            signing_members=wisniewski,
            terms=contracts.NewTerms(
                goals=["Zdobycie kwalifikacji zawodowych przez oboje rodziców"],
                actions=[
                    contracts.NewAction(
                        description="Szkolenie z KFS",
                        member_ids=wisniewski,
                        responsible=str(ids["pup"]),
                        instrument=RequestedInstrument(code_list="LabourMarketInstrument", code="KFS"),
                    )
                ],
            ),
        ),
    )
    await contracts.take_step(
        ctx, ops, contracts.TakeStep(contract_id=waiting.id, expected_version=waiting.version, step=ContractStep.SUBMIT)
    )
