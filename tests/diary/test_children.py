"""Registering and changing a child: validation, site scoping and the audit history."""

from datetime import date, timedelta

from django.urls import reverse

from diary.models import Child
from tests.conftest import login

FORM = {
    "site": "",
    "reference": "N-100",
    "first_name": "Cleo",
    "last_name": "Stone",
    "date_of_birth": "2020-02-03",
    "sex": "F",
    "diagnosis": "AGS2",
    "genotype": "RNASEH2B c.529G>A",
    "instrument": "",
    "country": "GB",
    "timezone": "Europe/London",
    "language": "en",
    "consent_version": "",
    "consent_date": "",
    "consent_withdrawn_date": "",
}


def test_clinician_registers_a_child_at_their_site(world, client):
    login(client, world.carol)
    response = client.post(reverse("child_create"), {**FORM, "site": world.north.pk})
    child = Child.objects.get(reference="N-100")
    assert response.status_code == 302
    assert response["Location"] == reverse("child_detail", args=[child.pk])
    assert child.site == world.north and child.created_by == world.carol
    record = child.history.get()
    assert record.history_type == "+" and record.history_user == world.carol


def test_clinician_cannot_place_a_child_at_another_site(world, client):
    login(client, world.carol)
    response = client.post(reverse("child_create"), {**FORM, "site": world.south.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Child.objects.filter(reference="N-100").exists()


def test_bad_input_gets_messages_and_stores_nothing(world, client):
    login(client, world.carol)
    future = (date.today() + timedelta(days=2)).isoformat()
    response = client.post(
        reverse("child_create"),
        {
            **FORM,
            "site": world.north.pk,
            "date_of_birth": future,
            "genotype": "TREX1 c.1A>G",
            "consent_date": "2024-01-01",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The date of birth cannot be in the future." in page
    assert "AGS2 is caused by RNASEH2B" in page
    assert "Give the version of the consent form signed." in page
    assert Child.objects.count() == 2


def test_duplicate_reference_is_refused_with_a_message(world, client):
    world.amy.reference = "N-100"
    world.amy.save()
    login(client, world.carol)
    response = client.post(reverse("child_create"), {**FORM, "site": world.north.pk})
    assert "Another child at this site has this reference." in response.content.decode()
    assert Child.objects.filter(reference="N-100").count() == 1


def test_edit_keeps_who_when_and_previous_values(world, client):
    login(client, world.carol)
    data = {
        **FORM,
        "site": world.north.pk,
        "reference": "",
        "first_name": "Amy",
        "last_name": "Test",
        "date_of_birth": "2019-05-01",
        "genotype": "RNASEH2B c.529G>A",
    }
    client.post(reverse("child_edit", args=[world.amy.pk]), {**data, "date_of_birth": "2019-05-02"})
    world.amy.refresh_from_db()
    assert world.amy.date_of_birth == date(2019, 5, 2)
    newest, previous = world.amy.history.order_by("-history_date")[:2]
    assert newest.history_user == world.carol
    assert previous.date_of_birth == date(2019, 5, 1)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    assert "Change history" in page
    assert "date of birth: 1 May 2019 → 2 May 2019" in page


def test_unchanged_form_writes_no_history(world, client):
    login(client, world.carol)
    before = world.amy.history.count()
    data = {
        **FORM,
        "site": world.north.pk,
        "reference": "",
        "first_name": "Amy",
        "last_name": "Test",
        "date_of_birth": "2019-05-01",
    }
    client.post(reverse("child_edit", args=[world.amy.pk]), data)
    assert world.amy.history.count() == before


def test_caregiver_sees_no_history_or_identifiers_of_others(world, client):
    login(client, world.alice)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    assert "Change history" not in page


def test_api_create_and_update_by_clinician(world, api_for):
    api = api_for(world.carol)
    body = {**FORM, "site": "north", "consent_date": None, "consent_withdrawn_date": None}
    response = api.post("/api/children/", body, format="json")
    assert response.status_code == 201, response.json()
    child_id = response.json()["id"]
    response = api.patch(
        f"/api/children/{child_id}/", {"genotype": "RNASEH2B c.1A>T"}, format="json"
    )
    assert response.status_code == 200
    record = Child.objects.get(pk=child_id).history.order_by("-history_date").first()
    assert record.history_user == world.carol
    assert record.prev_record.genotype == "RNASEH2B c.529G>A"


def test_api_refuses_other_sites_and_bad_values(world, api_for):
    api = api_for(world.carol)
    body = {**FORM, "site": "south", "consent_date": None, "consent_withdrawn_date": None}
    response = api.post("/api/children/", body, format="json")
    assert response.status_code == 400 and "site" in response.json()
    response = api.patch(
        f"/api/children/{world.amy.pk}/", {"date_of_birth": "2999-01-01"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["date_of_birth"] == ["The date of birth cannot be in the future."]
    # Moving a child to a site the clinician does not belong to is refused too.
    response = api.patch(f"/api/children/{world.amy.pk}/", {"site": "south"}, format="json")
    assert response.status_code == 400
    world.amy.refresh_from_db()
    assert world.amy.site == world.north and world.amy.date_of_birth == date(2019, 5, 1)


def test_api_ignores_client_supplied_audit_fields(world, api_for):
    api = api_for(world.carol)
    response = api.patch(
        f"/api/children/{world.amy.pk}/",
        {"id": 999, "created": "2000-01-01T00:00:00Z", "created_by": world.dan.pk},
        format="json",
    )
    assert response.status_code == 200
    world.amy.refresh_from_db()
    assert world.amy.pk != 999 and world.amy.created_by is None


def test_api_caregiver_cannot_write(world, api_for):
    api = api_for(world.alice)
    response = api.patch(f"/api/children/{world.amy.pk}/", {"first_name": "X"}, format="json")
    assert response.status_code == 403
    assert "clinicians" in response.json()["detail"]
    body = {**FORM, "site": "north", "consent_date": None, "consent_withdrawn_date": None}
    assert api.post("/api/children/", body, format="json").status_code == 403
    world.amy.refresh_from_db()
    assert world.amy.first_name == "Amy"


def test_the_diary_follows_the_diagnosis_unless_chosen(world, client):
    assert world.amy.get_instrument().key == "ags"
    assert world.ben.get_instrument().key == "nih-candle"
    login(client, world.carol)
    data = {
        **FORM,
        "site": world.north.pk,
        "reference": "",
        "first_name": "Amy",
        "last_name": "Test",
        "date_of_birth": "2019-05-01",
        "instrument": "nih-other",
    }
    client.post(reverse("child_edit", args=[world.amy.pk]), data)
    world.amy.refresh_from_db()
    assert world.amy.get_instrument().key == "nih-other"
