"""Visit assessments (DOMAIN §3): the AGS Scale (11 items, one point each, 0–11, with its
severity band) and the physician's and parent's global assessments (0–100 mm)."""

from datetime import date

import pytest
from django.test import override_settings

from diary import assessments
from diary.models import VisitAssessment

ALL = dict.fromkeys(assessments.ITEM_KEYS, 1)


def items(achieved: int) -> dict:
    """The first ACHIEVED milestones achieved, the others not."""
    return {key: int(i < achieved) for i, key in enumerate(assessments.ITEM_KEYS)}


# --- The rules, as plain functions -------------------------------------------------------------


def test_the_scale_has_the_published_eleven_items_one_point_each():
    assert len(assessments.AGS_SCALE_ITEMS) == 11 == assessments.AGS_SCALE_MAX
    assert assessments.clean({"ags_items": ALL})["ags_scale"] == 11
    assert assessments.clean({"ags_items": items(0)})["ags_scale"] == 0


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, "severe"), (3, "severe"), (4, "moderate"), (8, "moderate"), (9, "attenuated")],
)
def test_severity_bands_default(score, band):
    assert assessments.severity_band(score) == band


@override_settings(AGS_SCALE_BANDS={"severe": (0, 2), "moderate": (3, 9), "attenuated": (10, 11)})
def test_severity_bands_are_configurable():
    assert assessments.severity_band(3) == "moderate"
    assert assessments.severity_band(None) is None


@pytest.mark.parametrize("bad", [2, -1, "yes", "0.5", 1.5])
def test_an_item_outside_0_1_is_refused_with_its_name(bad):
    with pytest.raises(assessments.Invalid) as refused:
        assessments.clean({"ags_items": {**ALL, "sitting": bad}})
    assert "0 (not achieved) or 1 (achieved)" in refused.value.errors["ags_items.sitting"]


def test_a_partly_scored_scale_or_an_unknown_item_is_refused():
    partial = dict(list(ALL.items())[:10])
    with pytest.raises(assessments.Invalid, match="1 of 11 are missing"):
        assessments.clean({"ags_items": partial})
    with pytest.raises(assessments.Invalid, match="Unknown AGS Scale items: walking"):
        assessments.clean({"ags_items": {**ALL, "walking": 1}})


@pytest.mark.parametrize("bad", ["100.5", "-1", "1e3", "abc", "nan", True])
def test_a_vas_outside_0_100_is_refused(bad):
    with pytest.raises(assessments.Invalid) as refused:
        assessments.clean({"physician_global": bad})
    assert "physician_global" in refused.value.errors


def test_an_empty_assessment_is_refused_and_vas_bounds_are_kept():
    with pytest.raises(assessments.Invalid, match="Record the AGS Scale"):
        assessments.clean({})
    values = assessments.clean({"physician_global": "0", "parent_global": "100"})
    assert (values["physician_global"], values["parent_global"]) == (0, 100)
    assert values["ags_scale"] is None


def test_series_for_the_timeline_is_per_measure_and_oldest_first():
    rows = [
        (date(2024, 6, 1), 5, None, 40),
        (date(2024, 1, 1), 3, 70, None),
    ]
    out = assessments.series(rows)
    assert out["ags_scale"] == [(date(2024, 1, 1), 3.0), (date(2024, 6, 1), 5.0)]
    assert out["physician_global"] == [(date(2024, 1, 1), 70.0)]
    assert out["parent_global"] == [(date(2024, 6, 1), 40.0)]


# --- The API ---------------------------------------------------------------------------------


def body(child, **extra):
    return {"child": child.pk, "date": "2024-06-01", "ags_items": items(5), **extra}


def test_a_clinician_records_an_assessment_with_score_and_band(world, api_for):
    response = api_for(world.carol).post(
        "/api/assessments/", body(world.amy, physician_global="35.5"), format="json"
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["ags_scale"], data["severity_band"]) == (5, "moderate")
    assert data["physician_global"] == "35.5" and data["recorded_by"] == "carol"
    stored = VisitAssessment.objects.get()
    assert stored.history.get().history_user == world.carol


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ags_items": {**ALL, "phrases": 2}}, "ags_items"),
        ({"physician_global": 101}, "physician_global"),
        ({"parent_global": -0.5}, "parent_global"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_stored(world, api_for, extra, field):
    response = api_for(world.carol).post(
        "/api/assessments/", body(world.amy, **extra), format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not VisitAssessment.objects.exists()


def test_a_second_assessment_of_the_same_day_is_refused(world, api_for):
    api = api_for(world.carol)
    assert api.post("/api/assessments/", body(world.amy), format="json").status_code == 201
    again = api.post("/api/assessments/", body(world.amy), format="json")
    assert again.status_code == 400 and "already recorded" in again.json()["date"][0]
    assert VisitAssessment.objects.count() == 1


def test_a_caregiver_reads_but_cannot_record(world, api_for):
    api_for(world.carol).post("/api/assessments/", body(world.amy), format="json")
    parent = api_for(world.alice)
    listed = parent.get("/api/assessments/").json()
    assert [a["ags_scale"] for a in listed["results"]] == [5]
    assert parent.post("/api/assessments/", body(world.amy), format="json").status_code == 403
    pk = VisitAssessment.objects.get().pk
    change = parent.patch(f"/api/assessments/{pk}/", {"physician_global": 10}, format="json")
    assert change.status_code == 403
    assert VisitAssessment.objects.get().physician_global is None


def test_a_stranger_gets_404(world, api_for):
    api_for(world.carol).post("/api/assessments/", body(world.amy), format="json")
    pk = VisitAssessment.objects.get().pk
    for stranger in (world.bob, world.dan):  # another family's parent, another site's clinician
        api = api_for(stranger)
        assert api.get(f"/api/assessments/{pk}/").status_code == 404
        assert api.get("/api/assessments/").json()["results"] == []
        assert api.post("/api/assessments/", body(world.amy), format="json").status_code == 404
        assert api.patch(f"/api/assessments/{pk}/", {"note": "x"}, format="json").status_code == 404


def test_a_correction_keeps_the_history(world, api_for):
    api = api_for(world.carol)
    pk = api.post("/api/assessments/", body(world.amy), format="json").json()["id"]
    changed = api.patch(f"/api/assessments/{pk}/", {"ags_items": items(9)}, format="json")
    assert changed.status_code == 200 and changed.json()["severity_band"] == "attenuated"
    history = VisitAssessment.objects.get().history.order_by("history_date")
    assert [h.ags_scale for h in history] == [5, 9]
    moved = api.patch(f"/api/assessments/{pk}/", {"child": world.ben.pk}, format="json")
    assert moved.status_code == 400


def test_a_future_visit_is_refused(world, api_for):
    future = world.amy.today().replace(year=world.amy.today().year + 1).isoformat()
    response = api_for(world.carol).post(
        "/api/assessments/", body(world.amy, date=future), format="json"
    )
    assert response.status_code == 400 and "future" in response.json()["date"][0]


# --- The page --------------------------------------------------------------------------------


def form(achieved=5, **extra):
    data = {"date": "2024-06-01", "physician_global": "", "parent_global": "", "note": ""}
    data.update({f"ags_{k}": str(v) for k, v in items(achieved).items()})
    data.update(extra)
    return data


def test_the_page_records_and_lists_for_clinicians(world, client_for):
    client = client_for(world.carol)
    url = f"/children/{world.amy.pk}/assessments/"
    response = client.post(url, form(parent_global="62,5"))
    assert response.status_code == 302
    stored = VisitAssessment.objects.get()
    assert (stored.ags_scale, float(stored.parent_global)) == (5, 62.5)
    page = client.get(url).content.decode()
    assert "5/11" in page and "62.5 mm" in page and "Record an assessment" in page
    correct = client.post(f"{url}{stored.pk}/", form(achieved=2, parent_global="62.5"))
    assert correct.status_code == 302
    stored.refresh_from_db()
    assert stored.ags_scale == 2


def test_the_page_explains_a_bad_value_and_stores_nothing(world, client_for):
    client = client_for(world.carol)
    url = f"/children/{world.amy.pk}/assessments/"
    page = client.post(url, form(**{"ags_sitting": "3", "physician_global": "120"}))
    text = page.content.decode()
    assert page.status_code == 200 and "0 (not achieved) or 1 (achieved)" in text
    assert "from 0 to 100 mm" in text
    assert not VisitAssessment.objects.exists()


def test_a_caregiver_sees_the_page_without_the_form_and_cannot_post(world, client_for):
    VisitAssessment.objects.create(child=world.amy, date=date(2024, 6, 1), parent_global=40)
    client = client_for(world.alice)
    url = f"/children/{world.amy.pk}/assessments/"
    page = client.get(url).content.decode()
    assert "40 mm" in page and "Record an assessment" not in page
    assert client.post(url, form()).status_code == 403
    assert VisitAssessment.objects.count() == 1


def test_a_stranger_gets_404_on_the_page(world, client_for):
    assessment = VisitAssessment.objects.create(child=world.amy, date=date(2024, 6, 1), ags_scale=3)
    client = client_for(world.dan)
    assert client.get(f"/children/{world.amy.pk}/assessments/").status_code == 404
    assert client.post(f"/children/{world.amy.pk}/assessments/{assessment.pk}/").status_code == 404


def test_the_childs_change_history_names_the_items_that_changed(world, api_for, client_for):
    api = api_for(world.carol)
    pk = api.post("/api/assessments/", body(world.amy), format="json").json()["id"]
    api.patch(f"/api/assessments/{pk}/", {"ags_items": items(6)}, format="json")
    page = client_for(world.carol).get(f"/children/{world.amy.pk}/").content.decode()
    assert "Head control (more than 60 seconds)" in page  # the sixth milestone, 0 → 1
    assert "visit assessment" in page.lower()


def test_a_childs_series_come_from_its_own_assessments(world):
    VisitAssessment.objects.create(child=world.amy, date=date(2024, 6, 1), ags_scale=4)
    VisitAssessment.objects.create(child=world.ben, date=date(2024, 6, 1), ags_scale=9)
    out = VisitAssessment.series_for(world.amy)
    assert out["ags_scale"] == [(date(2024, 6, 1), 4.0)] and out["parent_global"] == []
