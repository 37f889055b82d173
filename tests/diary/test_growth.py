"""Growth SDS and centiles (DOMAIN §6b): computed on save against the site's reference, stored
with it; an extreme SDS asks for confirmation; an unknown reference stores nothing."""

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources

import pytest
from scipy.stats import norm

from diary import growth
from diary.models import GrowthMeasurement, Site
from outcomes import growth_charts
from tests.conftest import make_child

# The WHO Child Growth Standards' published length-for-age table, boys, at birth (WHO 2006,
# lhfa_boys_z_exp): L = 1, M = 49.8842 cm, S = 0.03795. Typed from the table, not read from
# the library, so that the test checks the library against the reference itself.
WHO_BOYS_BIRTH_LENGTH_LMS = (1.0, 49.8842, 0.03795)


def lms_z(x: float, lms: tuple[float, float, float]) -> float:
    """Cole's LMS formula: z = ((x / M)^L − 1) / (L S)."""
    l_, m, s = lms
    return ((x / m) ** l_ - 1) / (l_ * s)


def test_a_published_who_value_at_birth():
    born = date(2024, 1, 1)
    found = growth.score("who", "M", born, born, "height", 53.0)
    assert found.sds == pytest.approx(lms_z(53.0, WHO_BOYS_BIRTH_LENGTH_LMS), abs=1e-9)
    assert found.sds == pytest.approx(1.6459, abs=1e-4)
    assert found.centile == pytest.approx(100 * norm.cdf(found.sds), abs=1e-9)


def _who_infant_row(measure: str, sex: str, days: int) -> tuple[float, float, float]:
    """The WHO table's row for an age in whole days (its ages are days / 365.25)."""
    path = resources.files("rcpchgrowth") / "data_tables" / "who" / "who_infants.json"
    row = json.loads(path.read_text())["measurement"][measure][sex][days]
    assert row["decimal_age"] == pytest.approx(days / 365.25, abs=1e-9)
    return row["L"], row["M"], row["S"]


@pytest.mark.parametrize("reference", ["who", "uk-who"])
@pytest.mark.parametrize(
    ("measure", "sex", "value"), [("height", "female", 65.0), ("weight", "male", 6.1)]
)
def test_sds_is_the_lms_formula_with_the_references_own_parameters(reference, measure, sex, value):
    # UK-WHO is the WHO standard from 2 weeks to 4 years: the same L, M, S at 182 days.
    born = date(2024, 1, 1)
    found = growth.score(
        reference, sex[0].upper(), born, born + timedelta(days=182), measure, value
    )
    assert found.sds == pytest.approx(lms_z(value, _who_infant_row(measure, sex, 182)), abs=1e-9)


def test_references_differ_and_bmi_needs_both_measures():
    born, day = date(2012, 5, 3), date(2024, 6, 1)
    uk = growth.scores("uk-who", "M", born, day, 32.0, 145.0)
    cdc = growth.scores("cdc", "M", born, day, 32.0, 145.0)
    assert uk[0].sds != pytest.approx(cdc[0].sds, abs=1e-3)  # UK90 vs CDC 2000 at 12 years
    assert uk[2].value == growth.bmi(32.0, 145.0) == Decimal("15.22")
    only_weight = growth.scores("uk-who", "M", born, day, 32.0, None)
    assert only_weight[2].value is None and only_weight[2].sds is None


def test_no_sds_outside_the_references_ages_or_without_a_sex_says_why():
    old = growth.score("who", "M", date(2010, 5, 3), date(2024, 6, 1), "weight", 40)
    assert old.sds is None and "range" in old.reason  # WHO weight-for-age ends at 10 years
    unstated = growth.score("uk-who", "X", date(2018, 5, 3), date(2024, 6, 1), "weight", 20)
    assert unstated.sds is None and "sex" in unstated.reason


def test_an_unknown_reference_is_refused_with_its_name():
    with pytest.raises(growth.UnknownReference, match="'nchs'"):
        growth.score("nchs", "F", date(2018, 1, 1), date(2024, 1, 1), "height", 110)


# --- On save ---------------------------------------------------------------------------------


def _growth(api, child, **values):
    body = {"id": str(uuid.uuid4()), "child": child.pk, "date": "2024-06-01", **values}
    return api.post("/api/growth/", body, format="json")


def test_the_api_stores_sds_and_centiles_with_the_reference(world, api_for):
    response = _growth(api_for(world.alice), world.amy, weight_kg="17.5", height_cm="108.0")
    assert response.status_code == 201, response.json()
    row = GrowthMeasurement.objects.get()
    expected = growth.scores("uk-who", "F", world.amy.date_of_birth, date(2024, 6, 1), 17.5, 108)
    assert row.growth_reference == "uk-who"
    assert row.height_sds == pytest.approx(expected[0].sds, abs=5e-4)
    assert row.weight_centile == pytest.approx(expected[1].centile, abs=5e-3)
    assert float(row.bmi) == pytest.approx(15.0, abs=0.01)
    assert response.json()["height_sds"] == row.height_sds and not row.sds_confirmed


def test_the_sites_reference_is_used_and_kept_with_the_value(world, api_for):
    world.north.growth_reference = "cdc"
    world.north.save()
    _growth(api_for(world.alice), world.amy, height_cm="108.0")
    row = GrowthMeasurement.objects.get()
    assert row.growth_reference == "cdc"
    world.north.growth_reference = "who"
    world.north.save()
    row.refresh_from_db()
    assert row.growth_reference == "cdc"  # stored, never recomputed behind the reader's back
    # The same row sent again is still a replay, not a change.
    again = api_for(world.alice).post(
        "/api/growth/",
        {"id": str(row.pk), "child": world.amy.pk, "date": "2024-06-01", "height_cm": "108.0"},
        format="json",
    )
    assert again.status_code == 200


def test_an_extreme_sds_is_refused_until_confirmed(world, api_for):
    api = api_for(world.alice)
    typo = _growth(api, world.amy, height_cm="180.0")  # a 5-year-old: 180 cm for 108
    assert typo.status_code == 400
    body = typo.json()
    assert "typing error" in body["height_cm"][0] and "confirm_sds" in body
    assert not GrowthMeasurement.objects.exists()
    confirmed = _growth(api, world.amy, height_cm="180.0", confirm_sds=True)
    assert confirmed.status_code == 201, confirmed.json()
    row = GrowthMeasurement.objects.get()
    assert row.sds_confirmed and row.height_sds > 8


def test_a_day_with_an_extreme_weight_stores_nothing_of_the_day(world, api_for):
    body = {
        "child": world.amy.pk,
        "date": "2024-06-01",
        "entry": {"id": str(uuid.uuid4()), "scores": {"irritability": 1}},
        "growth": {"id": str(uuid.uuid4()), "weight_kg": "6"},  # 16 kg mistyped
    }
    response = api_for(world.alice).post("/api/days/", body, format="json")
    assert response.status_code == 400
    assert "growth" in json.dumps(response.json())
    assert not GrowthMeasurement.objects.exists()


def test_an_unknown_reference_stores_nothing(world, api_for):
    Site.objects.filter(pk=world.north.pk).update(growth_reference="nchs")  # not a choice
    response = _growth(api_for(world.alice), world.amy, weight_kg="17.5")
    assert response.status_code == 400
    assert "Unknown growth reference 'nchs'" in response.json()["growth_reference"][0]
    assert not GrowthMeasurement.objects.exists()


def test_a_child_of_unstated_sex_keeps_the_measurement_without_sds(world, api_for):
    world.amy.sex = "X"
    world.amy.save()
    response = _growth(api_for(world.alice), world.amy, weight_kg="17.5")
    assert response.status_code == 201
    row = GrowthMeasurement.objects.get()
    assert row.weight_kg == 17.5 and row.weight_sds is None and row.growth_reference == "uk-who"


def test_the_day_page_asks_to_confirm_then_stores(world, client_for):
    client = client_for(world.alice)
    child = make_child(world.north, "Tom", date_of_birth=date(2020, 1, 1), sex="M")
    world.alice.care_links.create(child=child, relationship="mother")
    day = child.today() - timedelta(days=1)
    form = {
        "date": day.isoformat(),
        "growth-id": str(uuid.uuid4()),
        "growth-version": "0",
        "weight_kg": "6",
    }
    page = client.post(f"/children/{child.pk}/diary/?date={day}", form)
    assert "typing error" in page.content.decode() and 'name="confirm_sds"' in page.content.decode()
    assert not GrowthMeasurement.objects.exists()
    client.post(f"/children/{child.pk}/diary/?date={day}", {**form, "confirm_sds": "1"})
    assert GrowthMeasurement.objects.get().sds_confirmed


def test_the_childs_page_shows_the_growth_chart_and_its_values(world, api_for, client_for):
    api = api_for(world.alice)
    _growth(api, world.amy, weight_kg="17.5", height_cm="108.0")
    client = client_for(world.alice)
    page = client.get(f"/children/{world.amy.pk}/").content.decode()
    assert f"/children/{world.amy.pk}/growth.svg" in page and "108" in page
    assert "UK-WHO" in page
    chart = client.get(f"/children/{world.amy.pk}/growth.svg")
    assert chart.status_code == 200 and b"<svg" in chart.content
    png = client.get(f"/children/{world.amy.pk}/growth.png")
    assert png.content.startswith(b"\x89PNG")
    stranger = client_for(world.bob)
    assert stranger.get(f"/children/{world.amy.pk}/growth.svg").status_code == 404


def test_centile_lines_are_the_references_own(world):
    lines = growth_charts.centile_lines("who", "F", "height", 0.4, 0.6)
    median = dict(lines[50])
    age = min(median, key=lambda a: abs(a - 182 / 365.25))
    _l, m, _s = _who_infant_row("height", "female", round(age * 365.25))
    assert median[age] == pytest.approx(m, abs=0.05)
    assert all(
        a < b
        for a, b in zip(
            [dict(lines[c])[age] for c in growth_charts.CENTILES["who"]][:-1],
            [dict(lines[c])[age] for c in growth_charts.CENTILES["who"]][1:],
            strict=True,
        )
    )
