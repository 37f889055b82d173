"""Mass assignment: what the server decides (owner, child, site, role, who and when, version,
history) cannot be set by the client, through any writable API operation or the main forms."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from diary import assessments
from diary.models import (
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Invitation,
    Medicine,
    Prescription,
    Role,
    SiteMembership,
    SteroidDose,
    SteroidPrescription,
    User,
    VisitAssessment,
)
from outcomes.models import LabResult
from tests.conftest import AGS_ANSWERS, PASSWORD, login, prescribe

OLD = "2000-01-01T00:00:00Z"


def hostile(world) -> dict:
    """Fields a client must not decide, with values that would give someone else's data away."""
    dan = world.dan
    return {
        "reported_by": dan.username,
        "reported_by_id": dan.pk,
        "created_by": dan.pk,
        "created_by_id": dan.pk,
        "entered_by": dan.pk,
        "acknowledged_by": dan.pk,
        "invited_by": dan.pk,
        "user": dan.pk,
        "owner": dan.pk,
        "caregiver": dan.pk,
        "created": OLD,
        "updated": OLD,
        "history_user": dan.pk,
        "history_date": OLD,
        "role": Role.SITE_ADMIN,
        "is_staff": True,
        "is_superuser": True,
        "instrument_key": "candle",
        "score": 0,
        "egfr": 999,
        "recorded_by": dan.pk,
        "ags_scale": 0,
        "growth_reference": "cdc",
        "height_sds": 99,
        "sds_confirmed": True,
    }


AUDIT_FKS = (
    "reported_by",
    "created_by",
    "entered_by",
    "acknowledged_by",
    "invited_by",
    "recorded_by",
)


def assert_server_decided(row, world, actor) -> None:
    for name in AUDIT_FKS:
        if hasattr(row, f"{name}_id"):
            assert getattr(row, f"{name}_id") in (actor.pk, None), name
    for name in ("created", "updated"):
        if hasattr(row, name):
            assert getattr(row, name).year != 2000, name
    latest = row.history.order_by("-history_date").first()
    assert latest.history_user == actor and latest.history_date.year != 2000


# --- API: every writable operation of the schema ------------------------------------------

MODELS = {
    "children": Child,
    "entries": DiaryEntry,
    "doses": DoseAdministration,
    "steroids": SteroidDose,
    "growth": GrowthMeasurement,
    "prescriptions": Prescription,
    "labs": LabResult,
    "medicines": Medicine,
    "assessments": VisitAssessment,
}


def valid_bodies(world) -> dict:
    """A valid body per request component, aimed at the actor's own child (Amy)."""
    amy = world.amy
    day = amy.today().isoformat()
    record = {"id": str(uuid.uuid4()), "child": amy.pk, "date": day}
    bodies = {
        "EntryIn": {**record, "scores": AGS_ANSWERS},
        "DoseIn": {**record, "drug": "baricitinib", "slot": "morning", "status": "given"},
        "SteroidIn": {**record, "drug": "prednisolone", "mg": "5"},
        "GrowthIn": {**record, "weight_kg": "15.2"},
        "LabInput": {
            "child": amy.pk,
            "sample_date": day,
            "analyte": "crp",
            "value": "3",
            "unit": "mg/L",
        },
        "Child": {
            "site": "north",
            "first_name": "Zoe",
            "last_name": "Test",
            "date_of_birth": "2020-02-02",
            "sex": "F",
            "diagnosis": "AGS2",
            "country": "GB",
            "timezone": "Europe/London",
            "language": "en",
        },
        "Prescription": {
            "child": amy.pk,
            "drug": "baricitinib",
            "start_date": day,
            "morning_mg": "2",
            "evening_mg": "2",
            "reason": "escalation",
            "override_reason": "tested",
        },
        "Medicine": {"child": amy.pk, "name": "Methotrexate", "start_date": day},
        "VisitAssessment": {
            "child": amy.pk,
            "date": day,
            "ags_items": dict.fromkeys(assessments.ITEM_KEYS, 1),
            "physician_global": "30",
        },
    }
    # A change's body: the same fields (its id, child and date are the row's, whatever is sent).
    for kind in ("Entry", "Dose", "Steroid", "Growth"):
        bodies[f"{kind}Change"] = bodies[f"{kind}In"]
    return bodies


def writable_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put", "patch") and "requestBody" in operation:
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                ref = body.get("$ref", "")  # a FHIR resource is a free-form object
                yield (
                    path,
                    method,
                    ref.split("/")[-1].removeprefix("Patched").removesuffix("Request"),
                )


# Research exports and whole days have their own tests below (no single row answered); the
# FHIR lab import reads Observations, no field of a row (tests/outcomes/test_fhir_import.py).
OWN_TESTS = ("/api/auth/token/", "/api/exports/", "/api/days/", "/api/children/{id}/fhir/labs/")
OPERATIONS = sorted((p, m, c) for p, m, c in writable_operations() if p not in OWN_TESTS)


def test_every_writable_operation_has_a_body_here(world):
    assert len(OPERATIONS) >= 15
    missing = {c for _p, _m, c in OPERATIONS} - set(valid_bodies(world))
    assert not missing, f"add a valid body for {missing} to valid_bodies()"
    others = {p for p, _m, _c in writable_operations()} - {p for p, _m, _c in OPERATIONS}
    assert others == set(OWN_TESTS)


def test_a_whole_day_ignores_what_the_server_decides_in_every_row(world, api_for):
    prescribe(world.amy, start=world.amy.today() - timedelta(days=90))
    bodies, bad = valid_bodies(world), hostile(world)

    def row(component):
        fields = {k: v for k, v in bodies[component].items() if k not in ("child", "date")}
        return {**fields, **bad, "version": None, "id": str(uuid.uuid4())}

    day = {
        **bad,
        "child": world.amy.pk,
        "date": world.amy.today().isoformat(),
        "entry": row("EntryIn"),
        "doses": [row("DoseIn")],
        "steroids": [row("SteroidIn")],
        "growth": row("GrowthIn"),
    }
    response = api_for(world.alice).post("/api/days/", day, format="json")
    assert response.status_code == 201, response.content
    for model in (DiaryEntry, DoseAdministration, SteroidDose, GrowthMeasurement):
        stored = model.objects.get()
        assert_server_decided(stored, world, world.alice)
        assert stored.child == world.amy and stored.version == 1
    entry = DiaryEntry.objects.get()
    assert entry.instrument_key == "ags" and entry.score == 5
    assert not User.objects.filter(is_staff=True).exists()


def test_an_export_request_ignores_who_and_what_the_client_claims(world, api_for):
    from outcomes.models import ExportLog, Study, StudyLink

    study = Study.objects.create(code="s1", title="S1")
    study.sites.add(world.north)
    StudyLink.objects.create(study=study, site=world.north, researcher=world.rita)
    body = {
        "study": "s1",
        "sites": ["north"],
        **hostile(world),
        "requested_by": world.dan.pk,
        "status": "done",
        "checksum": "0" * 64,
        "file_name": "../../etc/passwd",
        "via": "command",
    }
    response = api_for(world.rita).post("/api/exports/", body, format="json")
    assert response.status_code in (201, 202), response.content
    log = ExportLog.objects.get()
    assert log.requested_by == world.rita and log.via == "api"
    assert log.file_name != "../../etc/passwd" and log.checksum != "0" * 64


def existing_row(world, prefix: str):
    """The row a PUT/PATCH changes: one of Amy's."""
    amy, alice = world.amy, world.alice
    day = amy.today() - timedelta(days=1)
    from diary import recording

    if prefix == "children":
        return amy
    if prefix == "prescriptions":
        return prescribe(amy, start=amy.today() - timedelta(days=30))
    if prefix == "medicines":
        return Medicine.objects.create(child=amy, name="Folic acid", start_date=day)
    if prefix == "assessments":
        return VisitAssessment.objects.create(child=amy, date=day, parent_global=50)
    model = MODELS[prefix]
    # Different from valid_bodies(), so that the change is a change.
    data = {
        DiaryEntry: {"scores": {**AGS_ANSWERS, "crying": 3}},
        DoseAdministration: {"drug": "baricitinib", "slot": "morning", "status": "missed"},
        SteroidDose: {"drug": "prednisolone", "mg": "4"},
        GrowthMeasurement: {"weight_kg": "15"},
    }[model]
    return recording.record(model, amy, alice, uuid.uuid4(), day, data).row


@pytest.mark.parametrize("path,method,component", OPERATIONS, ids=lambda v: str(v))
def test_api_ignores_or_refuses_server_fields(world, api_for, path, method, component):
    prefix = path.split("/")[2]
    model = MODELS[prefix]
    actor = world.carol if prefix in ("children", "prescriptions", "assessments") else world.alice
    prescribe(world.amy, start=world.amy.today() - timedelta(days=90))
    body = {**valid_bodies(world)[component], **hostile(world)}
    if "{id}" in path:
        row = existing_row(world, prefix)
        url = path.replace("{id}", str(row.pk))
        # A change cannot move the row to another child or site, or choose its version.
        body.update(child=world.ben.pk, version=getattr(row, "version", 1))
        if prefix == "children":
            body.pop("child")
            SiteMembership.objects.create(user=world.carol, site=world.south, role=Role.CLINICIAN)
            body["site"] = "south"
        if prefix == "prescriptions":
            body["start_date"] = row.start_date.isoformat()
        if prefix == "assessments":
            body["date"] = row.date.isoformat()
    else:
        url, row = path, None
        body.update(version=99, id=body.get("id", 4242))
    response = getattr(api_for(actor), method)(url, body, format="json")
    if row is not None and prefix in ("children", "prescriptions", "medicines", "assessments"):
        # Naming another site or child is refused outright; without it the change goes through.
        assert response.status_code == 400, response.content
        assert {"site", "child"} & set(response.json()), response.json()
        if prefix == "children":
            body["site"] = "north"
        else:
            body["child"] = world.amy.pk
        response = getattr(api_for(actor), method)(url, body, format="json")
    assert response.status_code in (200, 201), response.content
    stored = model.objects.get(pk=response.json()["id"])
    assert_server_decided(stored, world, actor)
    if prefix == "children":
        assert stored.site == world.north and stored.pk != 4242
        assert stored.created_by_id in (world.carol.pk, None)
    else:
        assert stored.child == world.amy
    if hasattr(stored, "version"):
        assert stored.version == (1 if row is None else row.version + 1)
    unassigned = ("children", "labs", "prescriptions", "medicines", "assessments")
    if row is None and prefix not in unassigned:
        assert str(stored.pk) == body["id"]  # the client's UUID is the one thing it chooses
    if model is DiaryEntry:
        assert stored.instrument_key == "ags" and stored.score == 5
    if model is LabResult:
        assert stored.caregiver_entered is True and stored.egfr is None
    if model is VisitAssessment:
        assert stored.ags_scale == 11 and stored.recorded_by == actor
    if model is GrowthMeasurement:
        assert stored.growth_reference == "uk-who" and not stored.sds_confirmed
    assert not User.objects.filter(is_staff=True).exists()


def test_lab_entered_by_a_clinician_is_not_marked_as_the_familys(world, api_for):
    body = {
        **valid_bodies(world)["LabInput"],
        "caregiver_entered": True,
        "entered_by": world.alice.pk,
    }
    response = api_for(world.carol).post("/api/labs/", body, format="json")
    assert response.status_code == 201
    lab = LabResult.objects.get()
    assert (lab.caregiver_entered, lab.entered_by) == (False, world.carol)


# --- Forms ----------------------------------------------------------------------------------


def test_child_form_ignores_created_by_and_keeps_the_site(world, client):
    SiteMembership.objects.create(user=world.carol, site=world.south, role=Role.CLINICIAN)
    login(client, world.carol)
    form = {**valid_bodies(world)["Child"], "site": world.north.pk, **hostile(world)}
    form.update(id=4242, created_by=world.dan.pk)
    response = client.post(reverse("child_create"), form)
    assert response.status_code == 302
    zoe = Child.objects.get(first_name="Zoe")
    assert (zoe.created_by, zoe.site, zoe.pk != 4242) == (world.carol, world.north, True)
    # Editing cannot move the child to another site, even one of the clinician's own.
    form.update(site=world.south.pk, first_name="Zoey")
    response = client.post(reverse("child_edit", args=[zoe.pk]), form)
    assert response.status_code == 302
    zoe.refresh_from_db()
    assert (zoe.first_name, zoe.site, zoe.created_by) == ("Zoey", world.north, world.carol)


def test_prescription_forms_keep_the_child_from_the_url(world, client):
    login(client, world.carol)
    day = world.amy.today().isoformat()
    prescription = {
        "drug": "baricitinib",
        "indication": "interferonopathy",
        "start_date": day,
        "morning_mg": "2",
        "afternoon_mg": "0",
        "evening_mg": "2",
        "reason": "initial",
        "override_reason": "tested",
        "child": world.ben.pk,
        **hostile(world),
    }
    url = reverse("prescription_create", args=[world.amy.pk])
    assert client.post(url, prescription).status_code == 302
    saved = Prescription.objects.get()
    assert (saved.child, saved.created_by) == (world.amy, world.carol)
    steroid = {"drug": "prednisolone", "start_date": day, "mg_per_day": "5", "child": world.ben.pk}
    url = reverse("steroid_prescription_create", args=[world.amy.pk])
    assert client.post(url, {**steroid, **hostile(world)}).status_code == 302
    saved = SteroidPrescription.objects.get()
    assert (saved.child, saved.created_by) == (world.amy, world.carol)
    markers = {"optimal_dose_date": day, "first_name": "Mallory", "site": world.south.pk}
    assert client.post(reverse("markers_edit", args=[world.amy.pk]), markers).status_code == 302
    world.amy.refresh_from_db()
    assert (world.amy.first_name, world.amy.site) == ("Amy", world.north)


def test_the_day_page_decides_who_reported_which_child_and_the_version(world, client):
    login(client, world.alice)
    form = {f"item-{k}": v for k, v in AGS_ANSWERS.items()}
    form.update(hostile(world), child=world.ben.pk, entry_id=str(uuid.uuid4()), entry_version="")
    response = client.post(reverse("day", args=[world.amy.pk]), form)
    assert response.status_code == 302
    entry = DiaryEntry.objects.get()
    assert (entry.child, entry.reported_by, entry.version) == (world.amy, world.alice, 1)
    assert_server_decided(entry, world, world.alice)


def test_the_lab_form_decides_who_entered_it(world, client):
    login(client, world.alice)
    form = {"sample_date": world.amy.today().isoformat(), "crp": "3", "crp_unit": "mg/L"}
    form.update(hostile(world), caregiver_entered="", child=world.ben.pk)
    assert client.post(reverse("lab_panel_create", args=[world.amy.pk]), form).status_code == 302
    lab = LabResult.objects.get()
    assert (lab.child, lab.entered_by, lab.caregiver_entered) == (world.amy, world.alice, True)


def test_preferences_cannot_change_the_account(world, client):
    login(client, world.alice)
    form = {"test_reminders": "on", "clinical_emails": "on", **hostile(world)}
    form.update(username="root", email="evil@example.org", language="fr", is_active="")
    assert client.post(reverse("reminder_preferences"), form).status_code == 302
    world.alice.refresh_from_db()
    alice = world.alice
    assert alice.test_reminders is True
    assert (alice.username, alice.email, alice.is_staff, alice.is_superuser) == (
        "alice",
        "alice@example.org",
        False,
        False,
    )


def test_invitations_keep_the_inviters_site_child_and_role(world, client):
    login(client, world.sam)
    form = {"email": "nurse@example.org", "role": Role.CLINICIAN, "site": world.south.pk}
    client.post(reverse("site_members", args=["north"]), {**hostile(world), **form})
    invitation = Invitation.objects.get(email="nurse@example.org")
    assert (invitation.site, invitation.role, invitation.invited_by) == (
        world.north,
        Role.CLINICIAN,
        world.sam,
    )
    login(client, world.carol)
    form = {"email": "gran@example.org", "relationship": "grandparent", "child": world.ben.pk}
    client.post(reverse("child_invite", args=[world.amy.pk]), {**hostile(world), **form})
    invitation = Invitation.objects.get(email="gran@example.org")
    assert (invitation.child, invitation.site, invitation.role, invitation.invited_by) == (
        world.amy,
        None,
        "",
        world.carol,
    )


def test_accepting_an_invitation_cannot_choose_the_role_or_staff(world, client):
    from diary import invitations

    invitation = Invitation.objects.create(
        email="newdoc@example.org", site=world.north, role=Role.RESEARCHER, invited_by=world.sam
    )
    form = {
        "first_name": "New",
        "last_name": "Doc",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **hostile(world),
        "site": world.south.pk,
        "email": "other@example.org",
        "username": "root",
    }
    response = client.post(
        reverse("accept_invitation", args=[invitations.token_for(invitation)]), form
    )
    assert response.status_code == 302
    user = User.objects.get(email="newdoc@example.org")
    assert (user.username, user.is_staff, user.is_superuser) == ("newdoc@example.org", False, False)
    assert list(user.memberships.values_list("site__code", "role")) == [("north", Role.RESEARCHER)]
