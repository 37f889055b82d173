"""Screening before the first dose (SPARN §5.1–5.2, §6.1–6.2, §10): the checklist, its open
items at each outcome, and the first prescription that warns while one is open."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from diary.models import Prescription, Screening
from outcomes import screening, thresholds
from outcomes.screening import Record
from tests.conftest import record_fbc, record_screening

DAY = date(2026, 1, 1)
NAMES = {i: i for i in (*screening.ITEMS, *screening.BASELINE)}
CLEAR = {
    "tb": "negative",
    "vzv": "immune",
    "hsv": "previous_infection",
    "mmr": "vaccinated",
    "pregnancy": "negative",
    "contraception": "effective",
}
NORMAL = [
    thresholds.Result("hb", Decimal(12), DAY),
    thresholds.Result("neutrophils", Decimal(3), DAY),
    thresholds.Result("lymphocytes", Decimal(2), DAY),
]


def open_for(drug="baricitinib", childbearing=False, baseline=NORMAL, **outcomes):
    latest = {
        item: Record(item, outcome, DAY)
        for item, outcome in {**CLEAR, **outcomes}.items()
        if outcome is not None
    }
    return screening.open_items(drug, latest, childbearing, baseline, NAMES)


def test_all_clear_leaves_nothing_open():
    assert open_for() == []
    assert open_for(childbearing=True) == []


@pytest.mark.parametrize(
    ("change", "words", "section"),
    [
        # §6.2a: "should not be started in patients with active TB"
        ({"tb": "active"}, "should not be started", "§6.2"),
        # "In patients with untreated latent TB, anti-TB treatment should be considered"
        ({"tb": "latent_untreated"}, "anti-TB treatment", "§6.2"),
        ({"tb": "latent_treated"}, None, None),
        # "consider VZV vaccination … if not previously had VZV infection/IgG not detected"
        ({"vzv": "not_immune"}, "VZV vaccination", "§6.2"),
        ({"vzv": "vaccinated"}, None, None),
        # "consider MMR vaccination if not had previously"
        ({"mmr": "not_immune"}, "MMR", "§6.2"),
        # "Document previous HSV infection"
        ({"hsv": None}, "Screening not recorded: hsv", "§6.2"),
        ({"hsv": "no_previous_infection"}, None, None),
    ],
)
def test_each_item_at_each_outcome(change, words, section):
    found = open_for(**change)
    if words is None:
        assert found == []
        return
    assert len(found) == 1 and words in found[0].message
    assert found[0].source == f"SPARN JAKi guideline {section}"


def test_pregnancy_and_contraception_for_girls_of_child_bearing_potential():
    # §6.1 "Pregnancy and lactation"; "Should not be started if patient on combination
    # contraceptive pill"; §10.
    assert open_for(pregnancy="positive") == []  # not asked below the age
    found = open_for(childbearing=True, pregnancy="positive", contraception="combined_pill")
    assert [c.source for c in found] == ["SPARN JAKi guideline §6.1, §10"] * 2
    assert "contraindicated" in found[0].message and "combined" in found[1].message
    assert "§5.1, §10" in open_for("tofacitinib", True, contraception=None)[0].source


@pytest.mark.parametrize(
    ("drug", "hb", "open_"),
    [("baricitinib", "8.0", True), ("baricitinib", "8.1", False), ("tofacitinib", "10.0", True)],
)
def test_baseline_bloods_against_the_do_not_start_limits(drug, hb, open_):
    baseline = [thresholds.Result("hb", Decimal(hb), DAY), *NORMAL[1:]]
    found = open_for(drug, baseline=baseline)
    assert bool(found) is open_
    missing = open_for(drug, baseline=NORMAL[:1])
    assert "No baseline bloods" in missing[0].message and "neutrophils" in missing[0].message


def first_rx(world, api_for, day="2026-02-01"):
    return api_for(world.carol).post(
        "/api/prescriptions/",
        {
            "child": world.amy.pk,
            "drug": "baricitinib",
            "indication": "jdm",
            "start_date": day,
            "morning_mg": "4",
            "reason": "initial",
        },
        format="json",
    )


def test_a_first_prescription_with_an_open_item_warns(world, api_for):
    amy = world.amy
    record_screening(amy, world.carol, DAY, vzv="not_immune")
    response = first_rx(world, api_for)
    assert response.status_code == 400
    assert "VZV vaccination" in str(response.json()["override_reason"])
    Screening.objects.create(
        child=amy, item="vzv", outcome="vaccinated", date=date(2026, 1, 15), recorded_by=world.carol
    )
    assert first_rx(world, api_for).status_code == 201
    # A later prescription is not a first dose: the checklist does not hold it.
    Screening.objects.create(child=amy, item="tb", outcome="active", date=date(2026, 2, 2))
    assert first_rx(world, api_for, "2026-02-10").status_code == 201


def test_checklist_page_and_api(world, client_for, api_for):
    amy = world.amy
    client = client_for(world.carol)
    page = client.get(reverse("treatment", args=[amy.pk])).content.decode()
    section = page.split('id="screening"')[1].split("</section>")[0]
    assert "Screening not recorded: Tuberculosis screen" in section
    assert "the treating team decides" in section
    saved = client.post(
        reverse("screening_create", args=[amy.pk]),
        {"item": "tb", "outcome": "negative", "date": "2026-01-02", "note": "IGRA"},
        follow=True,
    )
    assert "Screening saved." in saved.content.decode()
    assert Screening.objects.get().history.count() == 1
    # Bad input: an outcome of another item, a future date. Nothing stored.
    for bad, message in (
        ({"item": "tb", "outcome": "vaccinated", "date": "2026-01-02"}, "Choose one of: Negative"),
        (
            {"item": "hsv", "outcome": "previous_infection", "date": "2999-01-01"},
            "The date cannot be in the future.",
        ),
    ):
        page = client.post(reverse("screening_create", args=[amy.pk]), bad, follow=True)
        assert message in page.content.decode()
    assert Screening.objects.count() == 1
    body = api_for(world.carol).get(f"/api/children/{amy.pk}/screening/").json()
    assert body["items"][0] == {"item": "tb", "outcome": "negative", "date": "2026-01-02"}
    assert all("§" in c["source"] and c["decision"] for c in body["open"])
    # Caregivers see it, cannot change it; strangers get 404.
    assert api_for(world.alice).get(f"/api/children/{amy.pk}/screening/").status_code == 200
    response = client_for(world.alice).post(
        reverse("screening_create", args=[amy.pk]),
        {"item": "tb", "outcome": "negative", "date": "2026-01-03"},
    )
    assert response.status_code == 403
    assert api_for(world.dan).get(f"/api/children/{amy.pk}/screening/").status_code == 404
    assert Prescription.objects.count() == 0


def test_record_fbc_helper_is_normal(world):
    record_fbc(world.amy, world.carol, DAY)
    assert not world.amy.flags.exists()
