"""The dashboard: a worsening diary, missed doses, infections and guideline flags, each with
the reason it shows; completeness on the family's own calendar."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from diary.models import DiaryEntry, DoseAdministration
from outcomes.models import LabFlag
from tests.conftest import login, make_child, prescribe


@pytest.fixture(autouse=True)
def fresh_cache():
    from django.core.cache import cache

    cache.clear()


def scored(child, first: date, last: date, score: float) -> None:
    DiaryEntry.objects.bulk_create(
        DiaryEntry(
            child=child,
            date=first + timedelta(days=n),
            instrument_key="ags",
            instrument_version=1,
            score=score,
        )
        for n in range((last - first).days + 1)
    )


def row(page: str, name: str) -> str:
    body = page.split('id="dashboard"')[1].split("<tbody>")[1]
    return next(r for r in body.split("</tr>") if name in r)


def test_amira_worse_than_her_phase3_mean_is_flagged(world, client):
    today = world.amy.today()
    amira = make_child(world.north, "Amira", optimal_dose_date=today - timedelta(days=400))
    prescribe(amira, start=today - timedelta(days=500))
    # Phase 3 from the optimal dose to 91 days ago, at 4.7; the last week at 12.
    scored(amira, today - timedelta(days=400), today - timedelta(days=91), 4.7)
    scored(amira, today - timedelta(days=6), today, 12.0)
    steady = make_child(world.north, "Steady", optimal_dose_date=today - timedelta(days=400))
    prescribe(steady, start=today - timedelta(days=500))
    scored(steady, today - timedelta(days=400), today - timedelta(days=91), 4.7)
    scored(steady, today - timedelta(days=6), today, 5.0)
    login(client, world.carol)
    page = client.get(reverse("dashboard") + "?sort=score").content.decode()
    amira_row = row(page, "Amira")
    assert ">worse<" in amira_row
    assert "last 7 days 12.0 (7 days scored) vs phase-3 mean 4.7" in amira_row
    assert page.index("Amira") < page.index("Steady")
    steady_row = row(page, "Steady")
    assert ">worse<" not in steady_row and "Not worse: last 7 days 5.0" in steady_row
    # Amy has no diary: said, not silently passed over.
    assert "Not assessed: 0 of the last 7 days scored" in row(page, "Amy")


def test_missed_doses_are_flagged_and_explained(world, client):
    amy, today = world.amy, world.amy.today()
    prescribe(amy, start=today - timedelta(days=60))  # morning and evening
    calm = make_child(world.north, "Calm")
    prescribe(calm, start=today - timedelta(days=60))
    for child, days_given in ((amy, range(1, 8)), (calm, range(1, 15))):
        for n in days_given:
            for slot in ("morning", "evening"):
                DoseAdministration.objects.create(
                    child=child,
                    date=today - timedelta(days=n),
                    slot=slot,
                    drug="baricitinib",
                    status="given",
                    given_mg=2,
                )
    DoseAdministration.objects.create(
        child=amy,
        date=today - timedelta(days=8),
        slot="morning",
        drug="baricitinib",
        status="missed",
        given_mg=0,
    )
    login(client, world.carol)
    page = client.get(reverse("dashboard") + "?sort=doses").content.decode()
    amy_row = row(page, "Amy")
    assert "missed doses" in amy_row and "50%" in amy_row
    assert "14 of 28 prescribed doses recorded as given" in amy_row
    assert "1 missed, 13 not recorded" in amy_row
    assert page.index("Amy") < page.index("Calm")
    assert "missed doses" not in row(page, "Calm") and "100%" in row(page, "Calm")
    assert "Ben" not in page  # another site's child


def test_infection_and_guideline_flags_are_apart_and_explained(world, client):
    amy, today = world.amy, world.amy.today()
    calm = make_child(world.north, "Calm")
    LabFlag.objects.create(
        child=amy,
        day=today,
        code="infection",
        severity="adjust",
        message="The diary records fever while on baricitinib",
        source="SPARN JAKi guideline §7.3",
    )
    LabFlag.objects.create(
        child=calm,
        day=today,
        code="dose-above-maximum",
        severity="adjust",
        message="The dose is above the maximum",
        source="SPARN JAKi guideline §6.4",
    )
    # Another site's infection is not shown to this site's clinician.
    LabFlag.objects.create(
        child=world.ben, day=today, code="infection", severity="adjust", message="x", source="y"
    )
    login(client, world.carol)
    page = client.get(reverse("dashboard") + "?sort=infections").content.decode()
    assert "Ben" not in page
    assert page.index("Amy") < page.index("Calm")
    amy_row = row(page, "Amy")
    assert ">infection<" in amy_row and "fever while on baricitinib" in amy_row
    assert "§7.3" in amy_row and "result to review" not in amy_row
    calm_row = row(page, "Calm")
    assert "result to review" in calm_row and ">infection<" not in calm_row
    assert "§6.4" in calm_row
    page = client.get(reverse("dashboard") + "?sort=flags").content.decode()
    assert page.index("Calm") < page.index("Amy")


def test_shingles_in_the_diary_counts_as_an_infection(world, client):
    import uuid

    from diary import recording

    amy, today = world.amy, world.amy.today()
    calm = make_child(world.north, "Calm")
    prescribe(amy, start=today - timedelta(days=30))
    prescribe(calm, start=today - timedelta(days=30))
    for child in (amy, calm):
        data = {"no_symptoms": True, "zoster": child == amy}
        recording.record(DiaryEntry, child, world.carol, uuid.uuid4(), today, data)
    assert LabFlag.objects.get(code="zoster").child == amy
    login(client, world.carol)
    page = client.get(reverse("dashboard") + "?sort=infections").content.decode()
    assert page.index("Amy") < page.index("Calm")
    amy_row = row(page, "Amy")
    assert ">infection<" in amy_row and "result to review" not in amy_row
    assert "shingles (herpes zoster) while on baricitinib" in amy_row and "§7.3" in amy_row
    assert ">infection<" not in row(page, "Calm")
    # Acknowledged, it is no longer counted.
    LabFlag.objects.update(acknowledged_at=timezone.now(), acknowledged_by=world.carol)
    page = client.get(reverse("dashboard")).content.decode()
    assert ">infection<" not in row(page, "Amy")


def test_completeness_counts_the_familys_days_not_the_servers(world, client):
    # 05:00 UTC on 30 November is still 29 November in American Samoa.
    with time_machine.travel(datetime(2026, 11, 30, 5, 0, tzinfo=UTC), tick=False):
        samoa = make_child(world.north, "Samoa", timezone="Pacific/Pago_Pago")
        assert samoa.today() == date(2026, 11, 29)
        scored(samoa, date(2026, 10, 31), date(2026, 11, 29), 3.0)
        login(client, world.carol)
        samoa_row = row(client.get(reverse("dashboard")).content.decode(), "Samoa")
    assert "<td>100%</td>" in samoa_row


def test_the_reasons_are_in_the_readers_language(world, client):
    today = world.amy.today()
    amira = make_child(world.north, "Amira", optimal_dose_date=today - timedelta(days=400))
    prescribe(amira, start=today - timedelta(days=500))
    scored(amira, today - timedelta(days=400), today - timedelta(days=91), 4.7)
    scored(amira, today - timedelta(days=6), today, 12.0)
    world.carol.language = "fr"
    world.carol.save()
    login(client, world.carol)
    amira_row = row(client.get(reverse("dashboard")).content.decode(), "Amira")
    assert "7 derniers jours 12,0 (7 jours notés) contre moyenne de la phase 3 4,7" in amira_row
    assert ">aggravation<" in amira_row and "Aucune dose prescrite" not in amira_row
