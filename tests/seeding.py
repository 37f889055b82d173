"""A child's full record with distinctive values, for tests that look for leaks."""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from diary import assessments, recording
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Invitation,
    Medicine,
    Prescription,
    Site,
    SiteMembership,
    SteroidDose,
    SteroidPrescription,
    User,
    VisitAssessment,
)
from outcomes.labs import record_lab
from outcomes.models import ExportLog, LabFlag, LabResult, Study, StudyJoinRequest, StudyLink
from tests.conftest import prescribe


@dataclass
class Record:
    child: Child
    entry: DiaryEntry
    dose: DoseAdministration
    steroid: SteroidDose
    growth: GrowthMeasurement
    prescription: Prescription
    steroid_prescription: SteroidPrescription
    lab: LabResult
    flag: LabFlag
    invitation: Invitation
    medicine: object = None
    assessment: object = None  # a visit assessment with a distinctive note
    study_link: object = None  # the site's study and its researcher
    export: object = None  # an export that researcher made
    join_request: object = None  # a site asking to take part in that study
    secrets: list[str] = field(default_factory=list)  # strings that must never leak

    def by_model(self) -> dict:
        rows = [self.entry, self.dose, self.steroid, self.growth, self.prescription]
        rows += [self.steroid_prescription, self.lab, self.flag, self.invitation, self.child]
        rows += [self.medicine, self.assessment]
        return {type(row): row for row in rows}


def seed_record(child: Child, caregiver: User, clinician: User, tag: str) -> Record:
    """Give CHILD a record of every kind; TAG makes its names and note findable in a body."""
    child.first_name = f"Firstname{tag}"
    child.last_name = f"Lastname{tag}"
    child.reference = f"REF-{tag}"
    child.save()
    day = child.today() - timedelta(days=3)
    prescription = prescribe(child, start=child.today() - timedelta(days=60))
    note = f"note text {tag} about the night"

    def rec(model, data):
        return recording.record(model, child, caregiver, uuid.uuid4(), day, data).row

    entry = rec(DiaryEntry, {"no_symptoms": True, "note": note})
    dose = rec(DoseAdministration, {"drug": "baricitinib", "slot": "morning", "status": "given"})
    steroid = rec(SteroidDose, {"drug": "prednisolone", "mg": "5"})
    growth = rec(GrowthMeasurement, {"weight_kg": "14.5", "height_cm": "95"})
    steroid_rx = SteroidPrescription.objects.create(
        child=child, drug="prednisolone", start_date=day, mg_per_day=5, created_by=clinician
    )
    lab = record_lab(child, clinician, "hb", day, "7.1", "g/dL")  # below 8: a flag (SPARN §6.7)
    invitation = Invitation.objects.create(
        email=f"grandma-{tag.lower()}@example.org",
        child=child,
        relationship="grandparent",
        invited_by=clinician,
    )
    researcher = User.objects.create_user(f"researcher-{tag.lower()}", password="x-" + tag)
    SiteMembership.objects.create(user=researcher, site=child.site, role="researcher")
    study = Study.objects.create(
        code=f"study-{tag.lower()}", title=f"Study {tag}", owner_site=child.site
    )
    study.sites.add(child.site)
    link = StudyLink.objects.create(
        study=study, site=child.site, researcher=researcher, linked_by=clinician
    )
    export = ExportLog.objects.create(requested_by=researcher, study=study)
    export.sites.add(child.site)
    asking = Site.objects.create(code=f"asking-{tag.lower()}", name=f"Asking {tag}", country="GB")
    join_request = StudyJoinRequest.objects.create(study=study, site=asking)
    medicine = Medicine.objects.create(
        child=child, name=f"Medicine{tag}", dose="5 mg", start_date=day, entered_by=caregiver
    )
    assessment = VisitAssessment.objects.create(
        child=child,
        date=day,
        ags_items=dict.fromkeys(assessments.ITEM_KEYS, 1),
        ags_scale=11,
        physician_global=12,
        note=f"Assessment{tag} at the visit",
        recorded_by=clinician,
    )
    return Record(
        medicine=medicine,
        assessment=assessment,
        study_link=link,
        export=export,
        join_request=join_request,
        child=child,
        entry=entry,
        dose=dose,
        steroid=steroid,
        growth=growth,
        prescription=prescription,
        steroid_prescription=steroid_rx,
        lab=lab,
        flag=lab.flags.get(),
        invitation=invitation,
        secrets=[
            child.first_name,
            child.last_name,
            child.reference,
            note,
            invitation.email,
            medicine.name,
            assessment.note,
        ],
    )
