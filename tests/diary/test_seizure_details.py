"""Seizure details of a diary day: accepted only with the seizures item above 0, and carried
everywhere a diary field goes (API, change history, download and import, research export)."""

import csv
import io
import re
import uuid
import zipfile
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from diary import recording
from diary.history import changes_for_child
from diary.models import DiaryEntry
from exchange import tables
from exchange.importing import import_data, source_from_file
from outcomes import export
from outcomes.models import Study, StudyLink
from tests.conftest import AGS_ANSWERS, login
from tests.outcomes.test_export import build, cohort, name_of

SEIZURE_DAY = {**AGS_ANSWERS, "seizures": 2}
DETAILS = {"seizure_count": 3, "seizure_longest_min": "2.5", "seizure_rescue": True}
NONE_GIVEN = {"seizure_count": None, "seizure_longest_min": None, "seizure_rescue": None}
FIELDS = tuple(DETAILS)


def clean(child, **data) -> dict:
    cleaned = recording.clean_entry(child, data)
    return {name: cleaned[name] for name in FIELDS}


def problems(child, **data) -> dict:
    with pytest.raises(recording.Invalid) as raised:
        recording.clean_entry(child, data)
    return raised.value.errors


def save(child, user, day, base_version=None, row_id=None, **data):
    return recording.record(
        DiaryEntry, child, user, row_id or uuid.uuid4(), day, data, base_version
    ).row


# --- Validation ---------------------------------------------------------------------------------


def test_details_go_with_a_seizure_score_above_0(world):
    assert clean(world.amy, scores=SEIZURE_DAY, **DETAILS) == {
        "seizure_count": 3,
        "seizure_longest_min": Decimal("2.5"),
        "seizure_rescue": True,
    }
    # Each is optional; none given is None (not said), on any day.
    assert clean(world.amy, scores=SEIZURE_DAY) == NONE_GIVEN
    assert clean(world.amy, scores=AGS_ANSWERS) == NONE_GIVEN
    assert clean(world.amy, scores={}, no_symptoms=True) == NONE_GIVEN
    assert clean(world.ben, scores={"fever": 1}) == NONE_GIVEN
    assert clean(world.amy, scores=SEIZURE_DAY, seizure_rescue=False)["seizure_rescue"] is False


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("seizure_count", 1, 1),
        ("seizure_count", 500, 500),
        ("seizure_count", " 12 ", 12),
        ("seizure_longest_min", 0, Decimal("0.0")),
        ("seizure_longest_min", "1440", Decimal("1440.0")),
        ("seizure_longest_min", "0,5", Decimal("0.5")),
        ("seizure_longest_min", Decimal("2.50"), Decimal("2.5")),
        ("seizure_longest_min", "-0", Decimal("0.0")),
        ("seizure_rescue", "yes", True),
        ("seizure_rescue", "no", False),
        ("seizure_rescue", "", None),
    ],
)
def test_plausible_details_are_accepted(world, field, value, stored):
    cleaned = clean(world.amy, scores=SEIZURE_DAY, **{field: value})
    assert cleaned[field] == stored
    assert str(cleaned[field]) == str(stored)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seizure_count", 0, "Enter a value between 1 and 500 seizures."),
        ("seizure_count", 501, "Enter a value between 1 and 500 seizures."),
        ("seizure_count", -2, "Enter a value between 1 and 500 seizures."),
        ("seizure_count", "2.5", "Enter a whole number."),
        ("seizure_count", "three", "Enter a whole number."),
        ("seizure_count", True, "Enter a whole number."),
        ("seizure_count", "9" * 5000, "Enter a whole number."),
        ("seizure_longest_min", "1440.1", "Enter a value between 0 and 1440 minutes."),
        ("seizure_longest_min", "-0.5", "Enter a value between 0 and 1440 minutes."),
        ("seizure_longest_min", "1E+9999", "Enter a value between 0 and 1440 minutes."),
        ("seizure_longest_min", "2.25", "at most one decimal"),
        ("seizure_longest_min", "long", "Enter a number."),
        ("seizure_longest_min", "NaN", "Enter a number."),
        ("seizure_rescue", "maybe", "Answer yes or no, or leave it empty."),
        ("seizure_rescue", 1, "Answer yes or no, or leave it empty."),
        ("seizure_rescue", ["yes"], "Answer yes or no, or leave it empty."),
    ],
)
def test_implausible_details_are_refused_by_name(world, field, value, message):
    errors = problems(world.amy, scores=SEIZURE_DAY, **{field: value})
    assert list(errors) == [field] and message in errors[field]


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ({"scores": AGS_ANSWERS}, "The seizures question says none today"),
        ({"scores": {**SEIZURE_DAY, "seizures": None}}, "answer it first"),
        ({"scores": {"irritability": 1}}, "answer it first"),
        ({"scores": {}, "no_symptoms": True}, "“No symptoms today” cannot go with seizure details"),
    ],
    ids=["seizures-0", "seizures-unanswered", "only-another-item", "no-symptoms"],
)
@pytest.mark.parametrize("field", FIELDS)
def test_details_without_seizures_are_an_error_never_dropped(world, day, message, field):
    value = {"seizure_rescue": False}.get(field, DETAILS[field])  # "not given" is an answer too
    errors = problems(world.amy, **day, **{field: value})
    assert list(errors) == [field] and message in errors[field]


def test_every_detail_given_is_named(world):
    errors = problems(world.amy, scores=AGS_ANSWERS, **DETAILS)
    assert sorted(errors) == sorted(FIELDS)


def test_a_diary_without_a_seizures_question_takes_no_details(world):
    errors = problems(world.ben, scores={"fever": 1}, seizure_count=2)
    assert errors == {
        "seizure_count": "This diary has no seizures question: seizure details cannot be recorded."
    }


def test_an_invalid_seizure_score_is_the_one_error(world):
    errors = problems(world.amy, scores={**SEIZURE_DAY, "seizures": 9}, seizure_count=2)
    assert list(errors) == ["scores.seizures"]


def test_the_messages_are_in_french(world):
    with translation.override("fr"):
        errors = problems(world.amy, scores=AGS_ANSWERS, seizure_count=2, seizure_rescue="maybe")
        range_error = problems(world.amy, scores=SEIZURE_DAY, seizure_longest_min="2000")
    assert errors["seizure_count"].startswith("La question sur les crises indique « Aucune »")
    assert errors["seizure_rescue"] == "Répondez oui ou non, ou laissez vide."
    assert range_error["seizure_longest_min"] == "Saisissez une valeur entre 0 et 1440 minutes."


@pytest.mark.parametrize(
    "fields",
    [
        {"seizure_count": 0},
        {"seizure_count": 501},
        {"seizure_longest_min": Decimal("1440.1")},
        {"seizure_longest_min": Decimal("-1")},
        {"no_symptoms": True, "seizure_rescue": False},
    ],
    ids=str,
)
def test_the_database_refuses_what_validation_refuses(world, fields):
    entry = DiaryEntry(
        child=world.amy, date=date(2024, 3, 1), instrument_key="ags", instrument_version=1
    )
    for name, value in fields.items():
        setattr(entry, name, value)
    with pytest.raises(IntegrityError), transaction.atomic():
        entry.save()


# --- API ----------------------------------------------------------------------------------------


def entry_body(child, **extra) -> dict:
    body = {"id": str(uuid.uuid4()), "child": child.pk, "date": child.today().isoformat()}
    return {**body, "scores": SEIZURE_DAY, **extra}


def test_api_create_and_read_keep_the_details(world, api_for):
    api = api_for(world.alice)
    created = api.post("/api/entries/", entry_body(world.amy, **DETAILS), format="json")
    assert created.status_code == 201, created.json()
    expected = {"seizure_count": 3, "seizure_longest_min": "2.5", "seizure_rescue": True}
    assert {name: created.json()[name] for name in FIELDS} == expected
    read = api.get(f"/api/entries/{created.json()['id']}/").json()
    assert {name: read[name] for name in FIELDS} == expected
    listed = api.get("/api/entries/", {"child": world.amy.pk}).json()["results"]
    assert {name: listed[0][name] for name in FIELDS} == expected
    entry = DiaryEntry.objects.get()
    assert (entry.seizure_count, entry.seizure_longest_min, entry.seizure_rescue) == (
        3,
        Decimal("2.5"),
        True,
    )
    # Not said stays not said; a number is as good as its text.
    yesterday = (world.amy.today() - timedelta(days=1)).isoformat()
    other = api.post(
        "/api/entries/",
        entry_body(world.amy, date=yesterday, seizure_longest_min=0.5),
        format="json",
    ).json()
    assert (other["seizure_count"], other["seizure_longest_min"], other["seizure_rescue"]) == (
        None,
        "0.5",
        None,
    )


def test_api_refuses_details_without_seizures_and_stores_nothing(world, api_for):
    response = api_for(world.alice).post(
        "/api/entries/",
        entry_body(world.amy, scores=AGS_ANSWERS, seizure_count=2, seizure_rescue=None),
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "seizure_count": [
            "The seizures question says none today: change that answer or clear the details."
        ]
    }
    assert not DiaryEntry.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seizure_count": 0}, "seizure_count"),
        ({"seizure_count": "2.5"}, "seizure_count"),
        ({"seizure_longest_min": "1441"}, "seizure_longest_min"),
        ({"seizure_rescue": "perhaps"}, "seizure_rescue"),
    ],
)
def test_api_bad_details_get_400_with_the_field(world, api_for, change, field):
    response = api_for(world.alice).post(
        "/api/entries/", entry_body(world.amy, **change), format="json"
    )
    assert response.status_code == 400 and list(response.json()) == [field]
    assert not DiaryEntry.objects.exists()


def test_api_patch_to_no_seizures_must_clear_the_details(world, api_for):
    api = api_for(world.alice)
    created = api.post("/api/entries/", entry_body(world.amy, **DETAILS), format="json").json()
    url = f"/api/entries/{created['id']}/"
    # A PATCH keeps what it does not name: the stored details do not go with seizures 0.
    refused = api.patch(url, {"version": 1, "scores": AGS_ANSWERS}, format="json")
    assert refused.status_code == 400 and sorted(refused.json()) == sorted(FIELDS)
    assert DiaryEntry.objects.get().seizure_count == 3
    cleared = api.patch(url, {"version": 1, "scores": AGS_ANSWERS, **NONE_GIVEN}, format="json")
    assert cleared.status_code == 200, cleared.json()
    assert DiaryEntry.objects.get().seizure_count is None
    # And a PATCH of one detail keeps the others.
    api.patch(url, {"version": 2, "scores": SEIZURE_DAY, **DETAILS}, format="json")
    changed = api.patch(url, {"version": 3, "seizure_rescue": False}, format="json").json()
    assert (changed["seizure_count"], changed["seizure_rescue"]) == (3, False)


def test_the_schema_describes_the_details(world, client):
    import yaml

    login(client, world.carol)
    schema = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]
    for name in ("EntryInRequest", "PatchedEntryChangeRequest", "EntryOut"):
        properties = schema[name]["properties"]
        assert all(properties[field]["nullable"] for field in FIELDS), name
    assert "seizures" in schema["EntryInRequest"]["properties"]["seizure_count"]["description"]


# --- Change history -----------------------------------------------------------------------------


def test_the_history_keeps_each_change_of_the_details(world, client):
    day = world.amy.today()
    entry = save(world.amy, world.alice, day, scores=SEIZURE_DAY, seizure_count=3)
    save(
        world.amy,
        world.alice,
        day,
        base_version=1,
        row_id=entry.pk,
        scores=SEIZURE_DAY,
        seizure_count=4,
        seizure_longest_min="1.5",
        seizure_rescue="yes",
    )
    versions = entry.history.order_by("history_date")
    assert [(v.seizure_count, v.seizure_longest_min, v.seizure_rescue) for v in versions] == [
        (3, None, None),
        (4, Decimal("1.5"), True),
    ]
    change = next(c for c in changes_for_child(world.amy) if c.action == "changed")
    assert set(change.fields) >= {
        ("number of seizures", "3", "4"),
        ("longest seizure (minutes)", "–", "1.5"),
        ("rescue medicine given", "–", "yes"),
    }
    login(client, world.carol)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    assert "number of seizures: 3 → 4" in page
    assert "rescue medicine given: – → yes" in page


# --- Family download, site export and import ----------------------------------------------------


def downloaded(client, world) -> bytes:
    login(client, world.alice)
    response = client.post(reverse("child_download", args=[world.amy.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def diary_rows(data: bytes) -> list[dict]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = archive.read("diary.csv").decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_family_download_then_import_keeps_the_details(world, client):
    world.amy.reference = "N-7"
    world.amy.save()
    today = world.amy.today()
    save(world.amy, world.alice, today, scores=SEIZURE_DAY, **DETAILS)
    save(world.amy, world.alice, today - timedelta(days=1), scores=SEIZURE_DAY, seizure_count=1)
    save(world.amy, world.alice, today - timedelta(days=2), scores=AGS_ANSWERS)
    data = downloaded(client, world)
    cells = {row["date"]: tuple(row[name] for name in FIELDS) for row in diary_rows(data)}
    assert cells == {
        today.isoformat(): ("3", "2.5", "1"),
        (today - timedelta(days=1)).isoformat(): ("1", "", ""),
        (today - timedelta(days=2)).isoformat(): ("", "", ""),
    }
    report = import_data(
        source_from_file(io.BytesIO(data), "amy.zip"), site=world.south, user=world.dan
    )
    assert report.ok and report.stored, [str(p) for p in report.problems]
    imported = {
        e.date: (e.seizure_count, e.seizure_longest_min, e.seizure_rescue)
        for e in DiaryEntry.objects.filter(child__site=world.south)
    }
    assert imported == {
        today: (3, Decimal("2.5"), True),
        today - timedelta(days=1): (1, None, None),
        today - timedelta(days=2): (None, None, None),
    }
    # Imported again where it came from: the same rows, nothing changes.
    again = import_data(
        source_from_file(io.BytesIO(data), "amy.zip"), site=world.north, user=world.carol
    )
    assert again.ok and sum(again.created.values()) == 0 and again.unchanged["diary"] == 3


DIARY_HEADER = "child_ref,date,item_seizures,item_irritability,seizure_count,"
DIARY_HEADER += "seizure_longest_min,seizure_rescue\n"


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ("2,1,many,,", "seizure_count", "is not a whole number"),
        ("2,1,0,,", "seizure_count", "between 1 and 500"),
        ("2,1,,3h,", "seizure_longest_min", "is not a number"),
        ("2,1,,2000,", "seizure_longest_min", "between 0 and 1440"),
        ("2,1,,,maybe", "seizure_rescue", "Write 1 for yes or 0 for no."),
        ("0,1,2,,", "seizure_count", "The seizures question says none today"),
        (",1,,,0", "seizure_rescue", "answer it first"),
    ],
)
def test_importing_bad_details_names_the_row_and_stores_nothing(world, row, column, words):
    world.amy.reference = "N-7"
    world.amy.save()
    good = "N-7,2024-03-01,2,1,2,1.5,1\n"
    text = DIARY_HEADER + good + f"N-7,2024-03-02,{row}\n"
    report = import_data(
        source_from_file(io.BytesIO(text.encode()), "diary.csv"),
        site=world.north,
        user=world.carol,
    )
    assert not report.stored and not DiaryEntry.objects.exists()
    assert [(p.file, p.row, p.column) for p in report.problems] == [("diary.csv", 3, column)]
    assert words in report.problems[0].message


def test_the_site_data_dictionary_describes_the_details():
    described = {row[1]: row for row in tables.dictionary_rows() if row[0] == "diary.csv"}
    assert described["seizure_count"][3:6] == ("integer", "", "1–500")
    assert described["seizure_longest_min"][3:6] == ("decimal", "minutes", "0–1440")
    assert described["seizure_rescue"][3] == "boolean"
    assert all("item_seizures above 0" in described[name][2] for name in FIELDS)
    assert all(described[name][6] == "optional" for name in FIELDS)


# --- Research export ----------------------------------------------------------------------------


def test_the_research_export_has_the_details_as_numbers(world):
    study = Study.objects.create(code="trial-a", title="Trial A")
    study.sites.add(world.north)
    StudyLink.objects.create(study=study, site=world.north, researcher=world.rita)
    # Today, not a fixed day: 150 days of diary outlast the freeze and each record's end.
    children = cohort(world.north, 5, "Kid", days=150)
    entries = DiaryEntry.objects.filter(child=children[0]).order_by("date")
    first, second = entries[0], entries[1]
    for entry, (count, longest, rescue) in (
        (first, (4, Decimal("1.5"), False)),
        (second, (12, None, True)),
    ):
        details = {"seizure_count": count, "seizure_longest_min": longest, "seizure_rescue": rescue}
        scores = {**entry.scores, "seizures": 3}
        DiaryEntry.objects.filter(pk=entry.pk).update(scores=scores, **details)
    result = build()
    name = name_of(children[0])
    rows = [r for r in result.tables["diary.csv"] if r["child"] == name]
    day0 = children[0].prescriptions.order_by("start_date").first().start_date
    by_day = {int(r["day"]): tuple(r[f] for f in FIELDS) for r in rows}
    assert by_day.pop((first.date - day0).days) == ("4", "1.5", "0")
    assert by_day.pop((second.date - day0).days) == ("12", "", "1")
    assert set(by_day.values()) == {("", "", "")}
    dictionary = {
        row["variable"]: row
        for row in result.tables["data_dictionary.csv"]
        if row["file"] == "diary.csv"
    }
    assert (dictionary["seizure_count"]["type"], dictionary["seizure_count"]["unit"]) == (
        "integer",
        "seizures",
    )
    assert dictionary["seizure_longest_min"]["unit"] == "minutes"
    assert dictionary["seizure_longest_min"]["allowed_values"] == "0–1440"
    assert dictionary["seizure_rescue"]["allowed_values"] == "0 | 1"
    assert "seizures item is above 0" in dictionary["seizure_rescue"]["notes"]
    # Not identifying: they are there whether free text is asked for or not.
    options = export.Options("trial-a", ("north",), date.today())
    assert {c.name for c in export.dictionary(options)["diary.csv"]} >= set(FIELDS)


# --- The day page's include ---------------------------------------------------------------------


def render_fields(entry=None, posted=None, errors=None) -> str:
    context = {"entry": entry, "posted": posted, "errors": errors or {}}
    return render_to_string("diary/_seizure_fields.html", context)


def checked(page: str) -> list[str]:
    return re.findall(r'id="seizure_rescue-(\w+)" value="[^"]*" checked', page)


def value_of(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*?value="([^"]*)"', page, re.S).group(1)


def test_the_include_shows_the_stored_details(world):
    entry = save(world.amy, world.alice, world.amy.today(), scores=SEIZURE_DAY, **DETAILS)
    page = render_fields(entry=entry)
    assert 'name="seizure_count" inputmode="numeric"' in page
    assert 'name="seizure_longest_min" inputmode="decimal"' in page
    assert (value_of(page, "seizure_count"), value_of(page, "seizure_longest_min")) == ("3", "2.5")
    assert checked(page) == ["yes"]
    for control in ("seizure_count", "seizure_longest_min", "seizure_rescue-yes"):
        assert f'<label for="{control}"' in page
    entry.seizure_rescue = False
    assert checked(render_fields(entry=entry)) == ["no"]


def test_the_include_is_empty_and_not_said_without_an_entry(world):
    page = render_fields()
    assert (value_of(page, "seizure_count"), value_of(page, "seizure_longest_min")) == ("", "")
    # Nothing preselected: "not said" is what an unanswered group sends.
    assert checked(page) == [] and "aria-invalid" not in page


def test_the_include_keeps_what_was_posted_and_shows_the_errors(world):
    entry = save(world.amy, world.alice, world.amy.today(), scores=SEIZURE_DAY, **DETAILS)
    posted = QueryDict("seizure_count=0&seizure_longest_min=2,25&seizure_rescue=no")
    errors = {"seizure_count": "Enter a value between 1 and 500 seizures."}
    page = render_fields(entry=entry, posted=posted, errors=errors)
    assert (value_of(page, "seizure_count"), value_of(page, "seizure_longest_min")) == (
        "0",
        "2,25",
    )
    assert checked(page) == ["no"]
    assert 'aria-invalid="true" aria-describedby="seizure_count_error"' in page
    assert '<p class="errorlist" id="seizure_count_error">Enter a value between 1' in page
    assert checked(render_fields(entry=entry, posted=QueryDict("seizure_count=2"))) == []
    posted = QueryDict("seizure_count=2&seizure_rescue=")
    assert checked(render_fields(entry=entry, posted=posted)) == ["unsaid"]


def test_the_include_is_in_french(world):
    with translation.override("fr"):
        page = render_fields()
    assert "Nombre de crises" in page and "Traitement de secours donné ?" in page
    assert "Non précisé" in page
