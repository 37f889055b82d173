"""Other medicines alongside a JAK inhibitor (SPARN §8, §10, §11): recorded by clinicians and
caregivers, in the API, and cautioned about while a JAK inhibitor is given."""

from datetime import date

import pytest
from django.urls import reverse

from diary.models import Medicine, Prescription
from outcomes import medicines
from outcomes.models import LabFlag, Reminder

START = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("kind", "name", "found"),
    [
        ("other", "Leflunomide 10 mg", "leflunomide"),
        ("other", "Adalimumab (Humira)", "biologic"),
        ("other", "MMR vaccine", "live_vaccine"),
        ("other", "Hammrock cream", "other"),  # "mmr" only as a word
        ("other", "Microgynon (combined pill)", "combined_pill"),
        ("other", "Paracetamol", "other"),
        ("biologic", "New antibody", "biologic"),  # the chosen kind counts
    ],
)
def test_kind_from_the_choice_or_the_name(kind, name, found):
    assert medicines.kind_of(kind, name) == found


@pytest.mark.parametrize(
    ("kind", "section", "words"),
    [
        # §8 "Caution with leflunomide … increased baricitinib exposure"
        ("leflunomide", "§8", "increase baricitinib exposure"),
        # §8 "avoid combination with other biologics … increased infection risk"
        ("biologic", "§8", "avoid combining another biologic"),
        # §10 "the oral contraceptive pill should not be prescribed alongside JAK inhibitors"
        ("combined_pill", "§10, §5.1, §6.1", "should not be prescribed"),
        # §11 "Avoid live vaccinations whilst on JAK inhibitors"
        ("live_vaccine", "§11", "avoid live vaccines"),
        ("methotrexate", None, None),  # §8: tofacitinib "along with methotrexate"
        ("other", None, None),
    ],
)
def test_each_kind_names_its_section(kind, section, words):
    found = medicines.cautions(kind, "X", "baricitinib")
    if section is None:
        assert found == []
    else:
        assert [c.source for c in found] == [f"SPARN JAKi guideline {section}"]
        assert words in found[0].message


def test_only_while_a_jak_inhibitor_is_given():
    courses = [(START, "baricitinib", True), (date(2026, 3, 1), "baricitinib", False)]
    assert medicines.overlapping_drug((date(2025, 12, 1), date(2025, 12, 31)), courses) is None
    assert medicines.overlapping_drug((date(2025, 12, 1), START), courses) == "baricitinib"
    assert medicines.overlapping_drug((date(2026, 3, 1), date(2026, 4, 1)), courses) is None
    # A vaccine is given on its day; another medicine is taken until stopped (or today).
    assert medicines.taken("live_vaccine", "MMR", START, None, date(2026, 6, 1)) == (START, START)
    assert medicines.taken("other", "X", START, None, date(2026, 6, 1)) == (START, date(2026, 6, 1))


@pytest.fixture
def on_baricitinib(world):
    Prescription.objects.create(
        child=world.amy,
        drug="baricitinib",
        start_date=START,
        morning_mg=2,
        evening_mg=2,
        reason="initial",
    )
    return world.amy


def post(api, child, **extra):
    body = {"child": child.pk, "name": "Leflunomide", "start_date": "2026-02-01", **extra}
    return api.post("/api/medicines/", body, format="json")


def test_caregiver_records_a_medicine_and_the_clinicians_are_flagged(
    world, on_baricitinib, api_for
):
    response = post(api_for(world.alice), on_baricitinib, dose="10 mg daily")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["entered_by"] == "alice" and body["kind"] == "other"
    assert body["warnings"][0]["source"] == "SPARN JAKi guideline §8"
    assert body["warnings"][0]["decision"]
    flag = LabFlag.objects.get(child=on_baricitinib, result=None)
    assert flag.source == "SPARN JAKi guideline §8" and flag.day == date(2026, 2, 1)
    alert = Reminder.objects.filter(child=on_baricitinib, kind="threshold", test="flags").first()
    from django.core import mail

    from outcomes import reminders

    assert reminders.send_one(alert.pk) is True
    assert mail.outbox[-1].subject.startswith("A record needs review: Amy")
    assert "a weight, a diary day or a medicine" in mail.outbox[-1].body
    assert "Leflunomide" not in mail.outbox[-1].body  # no health data in an email
    assert Medicine.objects.get().history.get().history_user == world.alice
    listed = api_for(world.carol).get("/api/medicines/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [m["name"] for m in rows] == ["Leflunomide"]


def test_before_the_jak_inhibitor_no_warning(world, on_baricitinib, api_for):
    response = post(
        api_for(world.carol), on_baricitinib, start_date="2025-11-01", stop_date="2025-12-31"
    )
    assert response.status_code == 201 and response.json()["warnings"] == []
    assert not LabFlag.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "  "}, "name", "may not be blank"),
        ({"stop_date": "2026-01-15"}, "stop_date", "The stop date is before the start date."),
        ({"start_date": "2010-01-01"}, "start_date", "before the child's date of birth"),
    ],
)
def test_bad_medicines_are_refused(world, on_baricitinib, api_for, change, field, message):
    response = post(api_for(world.alice), on_baricitinib, **change)
    assert response.status_code == 400
    assert message in str(response.json()[field])
    assert not Medicine.objects.exists()


def test_strangers_get_404(world, on_baricitinib, api_for):
    assert post(api_for(world.bob), on_baricitinib).status_code == 404
    assert post(api_for(world.dan), on_baricitinib).status_code == 404
    mine = post(api_for(world.alice), on_baricitinib).json()["id"]
    assert api_for(world.bob).get(f"/api/medicines/{mine}/").status_code == 404
    assert (
        api_for(world.dan)
        .patch(f"/api/medicines/{mine}/", {"dose": "1 mg"}, format="json")
        .status_code
        == 404
    )


def test_a_prescription_alongside_the_combined_pill_warns(world, on_baricitinib, api_for):
    Medicine.objects.create(
        child=on_baricitinib, name="Microgynon", kind="combined_pill", start_date=START
    )
    response = api_for(world.carol).post(
        "/api/prescriptions/",
        {
            "child": on_baricitinib.pk,
            "drug": "baricitinib",
            "indication": "jdm",
            "start_date": "2026-02-01",
            "morning_mg": "2",
            "evening_mg": "2",
            "reason": "initial",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "thrombotic risk" in str(response.json()["override_reason"])


def test_the_treatment_page_lists_and_adds_medicines(world, on_baricitinib, client_for):
    client = client_for(world.alice)
    page = client.post(
        reverse("medicine_create", args=[on_baricitinib.pk]),
        {"name": "MMR vaccine", "kind": "live_vaccine", "start_date": "2026-02-01"},
        follow=True,
    ).content.decode()
    assert "Medicine saved." in page and "avoid live vaccines" in page
    section = page.split('id="medicines"')[1].split("</section>")[0]
    assert "MMR vaccine" in section and "§11" in section
    bad = client.post(
        reverse("medicine_create", args=[on_baricitinib.pk]),
        {"name": "", "start_date": "2026-02-01"},
        follow=True,
    ).content.decode()
    assert "This field is required" in bad or "Give the medicine" in bad
    assert Medicine.objects.count() == 1
    client = client_for(world.dan)
    response = client.post(
        reverse("medicine_create", args=[on_baricitinib.pk]),
        {"name": "X", "start_date": "2026-02-01"},
    )
    assert response.status_code == 404 and Medicine.objects.count() == 1


def test_medicines_in_the_family_download(world, on_baricitinib, client_for):
    import io
    import zipfile

    Medicine.objects.create(
        child=on_baricitinib, name="Methotrexate", kind="methotrexate", start_date=START
    )
    client = client_for(world.alice)
    response = client.post(reverse("child_download", args=[on_baricitinib.pk]))
    data = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert "Methotrexate" in archive.read("medicines.csv").decode("utf-8-sig")
    dictionary = archive.read("data_dictionary.csv").decode("utf-8-sig")
    assert "medicines.csv" in dictionary and "stop_date" in dictionary
