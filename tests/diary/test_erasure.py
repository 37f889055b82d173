"""Erasing a child: the rules, what is left in every table, and who may do it."""

from datetime import date, timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from diary import erasure, recording
from diary.models import (
    CareLink,
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Invitation,
    Role,
    SiteMembership,
    SteroidDose,
    SteroidPrescription,
    User,
)
from outcomes.labs import record_lab
from outcomes.models import LabFlag, LabResult, Reminder
from tests.conftest import AGS_ANSWERS, login, make_child, make_user, prescribe

SEEDED = {
    "first name": "Zebedina",
    "last name": "Quorntonby",
    "reference": "Q-7788-ZZ",
    "date of birth": "2017-03-14",
    "genotype": "c.4242Zeb",
    "note": "thermometer in the fishbowl",
    "email": "zeb.granny@example.org",
}


# --- The rule: withdrawal, then the retention ---------------------------------------------


def test_no_withdrawal_no_erasure():
    assert erasure.erasure_problem(None, date(2030, 1, 1), 0) is not None


@pytest.mark.parametrize(
    ("days_after_withdrawal", "retention", "allowed"),
    [
        (0, 0, True),  # no retention: the day of the withdrawal
        (29, 30, False),  # the last day of the retention
        (30, 30, True),  # the first day after it
        (31, 30, True),
        (-1, 0, False),  # a withdrawal dated tomorrow
        (3652, 3653, False),
    ],
)
def test_retention_boundary(days_after_withdrawal, retention, allowed):
    withdrawn = date(2026, 3, 1)
    today = withdrawn + timedelta(days=days_after_withdrawal)
    problem = erasure.erasure_problem(withdrawn, today, retention)
    assert (problem is None) is allowed
    if not allowed:
        first_day = withdrawn + timedelta(days=retention)
        assert first_day.isoformat() in problem


def test_pseudonym_is_keyed_stable_and_not_the_id(settings):
    settings.PSEUDONYM_KEY = "k" * 40
    first = erasure.pseudonym(7)
    assert first == erasure.pseudonym(7) != erasure.pseudonym(8)
    assert len(first) == 64
    settings.PSEUDONYM_KEY = "j" * 40
    assert erasure.pseudonym(7) != first


# --- A child with something in every table ---------------------------------------------------


@pytest.fixture
def zeb(world, settings, client):
    """A child with every kind of row, changed at least once (so the history has old values),
    consent withdrawn past the retention."""
    settings.ERASURE_RETENTION_DAYS = 30
    today = timezone.localdate()
    child = make_child(
        world.north,
        SEEDED["first name"],
        last_name=SEEDED["last name"],
        reference=SEEDED["reference"],
        date_of_birth=date.fromisoformat(SEEDED["date of birth"]),
        genotype="RNASEH2B " + SEEDED["genotype"],
        consent_version="v2",
        consent_date=today - timedelta(days=400),
    )
    child.genotype = "RNASEH2B " + SEEDED["genotype"] + " homozygous"
    child.save()
    parent = make_user("zparent")
    CareLink.objects.create(caregiver=parent, child=child, relationship="mother")
    Invitation.objects.create(
        email=SEEDED["email"], child=child, relationship="grandparent", invited_by=world.carol
    )
    prescription = prescribe(child, start=today - timedelta(days=60))
    prescription.note = f"{SEEDED['first name']} tolerates it"
    prescription.save()
    SteroidPrescription.objects.create(
        child=child, drug="prednisolone", start_date=today - timedelta(days=50), mg_per_day=5
    )
    day = today - timedelta(days=3)
    saved = recording.record(
        DiaryEntry,
        child,
        parent,
        "11111111-1111-4111-8111-111111111111",
        day,
        {"scores": AGS_ANSWERS, "note": SEEDED["note"]},
    )
    recording.record(
        DiaryEntry,
        child,
        parent,
        saved.row.pk,
        day,
        {"scores": AGS_ANSWERS, "note": SEEDED["note"] + " again"},
        base_version=1,
    )
    recording.record(
        DoseAdministration,
        child,
        parent,
        "22222222-2222-4222-8222-222222222222",
        day,
        {"drug": "baricitinib", "slot": "morning", "status": "given"},
    )
    recording.record(
        SteroidDose,
        child,
        parent,
        "33333333-3333-4333-8333-333333333333",
        day,
        {"drug": "prednisolone", "mg": "5"},
    )
    recording.record(
        GrowthMeasurement,
        child,
        parent,
        "44444444-4444-4444-8444-444444444444",
        day,
        {"weight_kg": "17.3", "height_cm": "104.5"},
    )
    record_lab(child, world.carol, "neutrophils", day, "0.3", "×10⁹/L")
    Reminder.objects.create(
        child=child, recipient=parent, kind="test_due", test="fbc", due_date=today
    )
    LogEntry.objects.create(
        user=world.carol,
        content_type=ContentType.objects.get_for_model(Child),
        object_id=str(child.pk),
        object_repr=str(child),
        action_flag=CHANGE,
        change_message=f"Changed genotype of {child}",
    )
    login(client, world.carol)
    assert client.get(reverse("timeline_chart", args=[child.pk, "svg"])).status_code == 200
    client.logout()
    child.consent_withdrawn_date = today - timedelta(days=30)
    child.save()
    assert LabFlag.objects.filter(result__child=child).exists()
    return child


def tables_containing(needles: dict[str, str]) -> dict[str, list[str]]:
    """{what: [tables]} for every seeded value found in any column of any table."""
    found: dict[str, list[str]] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [
                c.name for c in connection.introspection.get_table_description(cursor, table)
            ]
            for what, needle in needles.items():
                where = " OR ".join(f"CAST({quote(c)} AS TEXT) LIKE %s" for c in columns)
                cursor.execute(
                    f"SELECT COUNT(*) FROM {quote(table)} WHERE {where}",  # noqa: S608
                    [f"%{needle}%"] * len(columns),
                )
                if cursor.fetchone()[0]:
                    found.setdefault(what, []).append(table)
    return found


def footprint(child: Child) -> dict[str, int]:
    """How many rows, live and historical, are about CHILD."""
    counts = {}
    for model in (DiaryEntry, DoseAdministration, SteroidDose, GrowthMeasurement):
        counts[model.__name__] = model.objects.filter(child=child).count()
        counts["h" + model.__name__] = model.history.filter(child_id=child.pk).count()
    counts["links"] = CareLink.objects.filter(child=child).count()
    counts["labs"] = LabResult.objects.filter(child=child).count()
    counts["child history"] = Child.history.filter(id=child.pk).count()
    return counts


def test_the_seeded_child_is_everywhere_before(zeb):
    found = tables_containing(SEEDED)
    assert set(found) == set(SEEDED)  # the search finds them: it can fail
    assert "diary_historicalchild" in found["date of birth"]
    assert "diary_historicaldiaryentry" in found["note"]
    assert "django_admin_log" in found["first name"]


def test_erasure_leaves_no_trace_but_the_pseudonym(
    zeb, world, client, django_capture_on_commit_callbacks
):
    amy_entry = recording.record(
        DiaryEntry,
        world.amy,
        world.alice,
        "55555555-5555-4555-8555-555555555555",
        world.amy.today(),
        {"scores": AGS_ANSWERS, "note": "Amy's own note"},
    ).row
    amy_before = footprint(world.amy)
    assert any(cache._list_cache_files())  # the chart drawn by the fixture
    login(client, world.sam)
    page = client.get(reverse("child_erase", args=[zeb.pk]))
    assert page.status_code == 200 and SEEDED["reference"] in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("child_erase", args=[zeb.pk]), {"confirm": SEEDED["reference"]}
        )
    assert response.status_code == 302

    assert not Child.objects.filter(pk=zeb.pk).exists()
    assert tables_containing(SEEDED) == {}
    alias = erasure.pseudonym(zeb.pk)
    history = Child.history.filter(id=zeb.pk).order_by("history_date")
    assert history.count() >= 4
    assert {h.first_name for h in history} == {alias}
    assert {h.date_of_birth for h in history} == {erasure.BLANK_DATE}
    assert history.last().history_type == "-" and history.last().history_user == world.sam
    # The audit trail still says who recorded what and when, without the content.
    entries = DiaryEntry.history.filter(child_id=zeb.pk)
    assert [e.history_type for e in entries.order_by("history_date")] == ["+", "~", "-"]
    parent = User.objects.get(username="zparent")
    assert {
        (e.note, e.history_user_id, e.reported_by_id) for e in entries if e.history_type != "-"
    } == {("", None, parent.pk)}
    assert all(e.scores == {} and e.score is None and e.date == erasure.BLANK_DATE for e in entries)
    assert not LabResult.objects.filter(child_id=zeb.pk).exists()
    assert (
        not LabFlag.history.filter(
            result_id__in=LabResult.history.filter(child_id=zeb.pk).values("id")
        )
        .exclude(message="")
        .exists()
    )
    assert not CareLink.objects.filter(child_id=zeb.pk).exists()
    assert not SteroidPrescription.objects.filter(child_id=zeb.pk).exists()
    assert not Reminder.objects.filter(child_id=zeb.pk).exists()
    assert not Invitation.objects.filter(child_id=zeb.pk).exists()
    assert LogEntry.objects.get(object_id=str(zeb.pk)).object_repr == alias
    # Nothing of the chart cache survives (it carried the child's name).
    assert not any(cache._list_cache_files())
    # Other children are untouched.
    assert footprint(world.amy) == amy_before
    assert DiaryEntry.objects.get(pk=amy_entry.pk).note == "Amy's own note"
    assert Child.objects.get(pk=world.amy.pk).first_name == "Amy"


def test_the_command_erases_with_the_reference(zeb, capsys):
    with pytest.raises(CommandError, match="does not match"):
        call_command("erase_child", str(zeb.pk), "--confirm", "wrong")
    assert Child.objects.filter(pk=zeb.pk).exists()
    call_command("erase_child", str(zeb.pk), "--dry-run")
    assert Child.objects.filter(pk=zeb.pk).exists()
    assert "diary.DiaryEntry: 1" in capsys.readouterr().out
    call_command("erase_child", str(zeb.pk), "--confirm", SEEDED["reference"])
    assert not Child.objects.filter(pk=zeb.pk).exists()
    assert tables_containing(SEEDED) == {}


def test_refused_within_the_retention(zeb, world, settings, client):
    settings.ERASURE_RETENTION_DAYS = 31  # withdrawn 30 days ago
    login(client, world.sam)
    response = client.post(reverse("child_erase", args=[zeb.pk]), {"confirm": SEEDED["reference"]})
    assert response.status_code == 400
    assert "legal retention" in response.content.decode()
    assert Child.objects.filter(pk=zeb.pk).exists()
    with pytest.raises(CommandError, match="legal retention"):
        call_command("erase_child", str(zeb.pk), "--confirm", SEEDED["reference"])
    with pytest.raises(erasure.NotErasable):
        erasure.erase(zeb)
    assert footprint(zeb)["DiaryEntry"] == 1


def test_refused_without_withdrawal(world, client):
    login(client, world.sam)
    response = client.post(reverse("child_erase", args=[world.amy.pk]), {"confirm": "Amy Test"})
    assert response.status_code == 400
    assert "not been withdrawn" in response.content.decode()
    assert Child.objects.filter(pk=world.amy.pk).exists()


def test_a_wrong_confirmation_erases_nothing(zeb, world, client):
    login(client, world.sam)
    response = client.post(reverse("child_erase", args=[zeb.pk]), {"confirm": "Q-7788"})
    assert response.status_code == 400
    assert Child.objects.filter(pk=zeb.pk).exists()


def test_get_never_erases(zeb, world, client):
    login(client, world.sam)
    client.get(reverse("child_erase", args=[zeb.pk]), {"confirm": SEEDED["reference"]})
    assert Child.objects.filter(pk=zeb.pk).exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("carol", 403),
        ("zparent", 403),
        ("dan", 404),
        ("bob", 404),
        ("rita", 404),
        ("south_admin", 404),
    ],
)
def test_only_the_sites_administrators_may_erase(zeb, world, client, who, status):
    if who == "south_admin":
        user = make_user("south_admin")
        SiteMembership.objects.create(user=user, site=world.south, role=Role.SITE_ADMIN)
    elif who == "zparent":
        user = CareLink.objects.get(child=zeb).caregiver
    else:
        user = getattr(world, who)
    login(client, user)
    url = reverse("child_erase", args=[zeb.pk])
    assert client.get(url).status_code == status
    response = client.post(url, {"confirm": SEEDED["reference"]})
    assert response.status_code == status
    assert SEEDED["first name"] not in response.content.decode()
    assert Child.objects.filter(pk=zeb.pk).exists()


def test_anonymous_is_sent_to_sign_in(zeb, client):
    response = client.post(reverse("child_erase", args=[zeb.pk]), {"confirm": SEEDED["reference"]})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Child.objects.filter(pk=zeb.pk).exists()


def test_the_download_and_access_logs_keep_only_the_pseudonym(zeb, world, client):
    """Who downloaded or looked, and when, survives the erasure; the child's name in the
    download's file name and the link to the child do not."""
    from diary.models import AccessEvent, DataTransfer

    parent = CareLink.objects.get(child=zeb).caregiver
    login(client, parent)
    assert client.post(reverse("child_download", args=[zeb.pk])).status_code == 200
    login(client, world.carol)
    assert client.get(reverse("child_detail", args=[zeb.pk])).status_code == 200
    transfer = DataTransfer.objects.get(child=zeb)
    assert SEEDED["first name"].lower() in transfer.file_name.lower()
    events = set(AccessEvent.objects.filter(child=zeb).values_list("pk", flat=True))
    assert events
    alias = erasure.pseudonym(zeb.pk)
    erasure.erase(zeb, by=world.sam)
    transfer.refresh_from_db()
    assert (transfer.child, transfer.file_name, transfer.user) == (None, alias, parent)
    for event in AccessEvent.objects.filter(pk__in=events):
        assert event.child is None and event.detail == {"erased_child": alias}
        assert SEEDED["first name"] not in str(event.__dict__)
