"""The anonymised research export: what it holds, what it never holds, and who may have it."""

import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from diary.models import CareLink, DiaryEntry, Role, SiteMembership
from diary.synthetic import ChildSpec, history
from outcomes import deidentify, export, research
from outcomes.labs import record_lab
from outcomes.management.commands.seed_demo import load_history
from outcomes.models import ExportLog, ExportStatus, Study, StudyJoinRequest, StudyLink
from tests.conftest import make_child, make_user
from tests.outcomes import export_checks

ISO_DATE = re.compile(rb"\b(19|20)\d\d-\d\d-\d\d\b")


def consenting(site, first_name, **extra):
    fields = {"consent_version": "2.1", "consent_date": date(2024, 1, 1)}
    fields.update(extra)
    return make_child(site, first_name, **fields)


def with_data(child, days=40, first_dose=10, reporter=None, seed=1):
    spec = ChildSpec(
        child.site.code,
        child.reference or f"T-{child.pk}",
        child.first_name,
        child.last_name,
        child.date_of_birth,
        child.sex,
        child.diagnosis,
        "",
        str(child.country),
        child.timezone,
        "en",
        course=((first_dose, "baricitinib", 2, 0, 2, "initial"),),
        weight_kg=16,
        height_cm=100,
    )
    generated = history(spec, end=child.today() - timedelta(days=1), seed=seed, days=days)
    load_history(child, generated, reported_by=reporter, prescribed_by=None)
    return child


def cohort(site, n, prefix, days=40, **extra):
    """N consenting children who share their quasi-identifiers (one class of N)."""
    return [
        with_data(consenting(site, f"{prefix}{i}", **extra), days=days, seed=i) for i in range(n)
    ]


@pytest.fixture(autouse=True)
def exact_dates(settings):
    """These tests check what is exported, on a month's last day (a freeze), with records ending
    at the freeze; the date-bound tests set the bound themselves."""
    settings.EXPORT_DATE_UNCERTAINTY_DAYS = 0
    with time_machine.travel(datetime(2026, 6, 30, 12, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def study(world):
    trial = Study.objects.create(code="trial-a", title="Trial A")
    trial.sites.add(world.north)
    StudyLink.objects.create(study=trial, site=world.north, researcher=world.rita)
    return trial


def build(sites=("north",), study="trial-a", **options) -> export_checks.Export:
    chosen = export.Options(study, tuple(sites), timezone.localdate(), **options)
    out = io.BytesIO()
    export.write_export(out, chosen)
    return export_checks.check(out.getvalue())


def name_of(child, study="trial-a") -> str:
    return deidentify.pseudonym(settings.PSEUDONYM_KEY, study, child.pk)


# --- What is in it ----------------------------------------------------------------------------


def test_export_of_consenting_children_has_every_file(world, study):
    children = cohort(world.north, 5, "Kid")
    with_data(world.amy)  # no consent: never exported
    result = build()
    assert result.children() == {name_of(c) for c in children}
    # Searched in every decompressed file: the zip's raw bytes are deflated.
    assert all(name_of(world.amy).encode() not in content for content in result.everything())
    counts = result.manifest["children"]
    assert counts == {
        "eligible": 5,
        "exported": 5,
        "exported_whole": 5,
        "generalised": {level: 0 for level in deidentify.LEVELS[1:]},
        "held_back": {"no_data": 0, "small_class": 0},
    }
    diary = result.tables["diary.csv"]
    assert len(diary) == DiaryEntry.objects.filter(child__in=children).count()
    first = min(diary, key=lambda r: int(r["day"]))
    assert int(first["day"]) < 0  # the days before the first dose count down to it
    assert {row["day0_event"] for row in result.tables["children.csv"]} == {"first_jaki_dose"}
    assert {row["age_band"] for row in result.tables["children.csv"]} == {"5-9"}
    assert "age_years" not in result.tables["children.csv"][0]  # the band only
    phases = result.tables["phases.csv"]
    assert len(phases) == 5 * 4
    assert {row["phase"] for row in phases if row["days"] != "0"} >= {"1", "2"}
    assert result.tables["doses.csv"] and result.tables["steroids.csv"]
    assert result.tables["growth.csv"]
    assert result.manifest["software"]["version"] == settings.APP_VERSION
    assert result.manifest["children_by_site"] == {"north": 5}


def test_item_scores_and_daily_score_per_day(world, study):
    children = cohort(world.north, 5, "Kid")
    entry = DiaryEntry.objects.filter(child=children[0]).order_by("date").first()
    result = build()
    name = name_of(children[0])
    day0 = children[0].prescriptions.order_by("start_date").first().start_date
    row = next(
        r
        for r in result.tables["diary.csv"]
        if r["child"] == name and int(r["day"]) == (entry.date - day0).days
    )
    assert float(row["score"]) == entry.score
    for key, value in entry.scores.items():
        assert row[f"item_{key}"] == str(value)
    assert row["item_rash"] == ""  # not an item of the AGS diary


def test_shingles_days_are_exported_as_a_described_0_or_1(world, study):
    children = cohort(world.north, 5, "Kid")
    entry = DiaryEntry.objects.filter(child=children[0]).order_by("date").last()
    DiaryEntry.objects.filter(pk=entry.pk).update(zoster=True)
    result = build()
    day0 = children[0].prescriptions.order_by("start_date").first().start_date
    diary = result.tables["diary.csv"]
    shingles = [(r["child"], int(r["day"])) for r in diary if r["zoster"] == "1"]
    assert shingles == [(name_of(children[0]), (entry.date - day0).days)]
    assert {r["zoster"] for r in diary} == {"0", "1"}  # never empty: a day has it or not
    header = list(diary[0])
    assert header.index("illness") + 1 == header.index("zoster")
    (described,) = [
        r
        for r in result.tables["data_dictionary.csv"]
        if (r["file"], r["variable"]) == ("diary.csv", "zoster")
    ]
    assert (described["type"], described["allowed_values"]) == ("boolean", "0 | 1")
    assert "herpes zoster" in described["label"]


def test_small_classes_are_generalised_then_suppressed(world, study):
    cohort(world.north, 3, "Ags2", diagnosis="AGS2")
    cohort(world.north, 2, "Ags7", diagnosis="AGS7", genotype="IFIH1")
    lonely = with_data(consenting(world.north, "Savi", diagnosis="SAVI", genotype="STING1"))
    result = build()
    assert name_of(lonely) not in result.children()
    counts = result.manifest["children"]
    assert counts["held_back"] == {"no_data": 0, "small_class": "suppressed"}
    assert counts["eligible"] == "suppressed"  # else 6 − 5 exported = 1 held back
    assert counts["generalised"]["genotype"] == 5
    assert {row["genotype"] for row in result.tables["children.csv"]} == {""}
    assert {row["disease_group"] for row in result.tables["children.csv"]} == {"AGS"}


def test_a_cohort_below_k_exports_nobody(world, study):
    cohort(world.north, 4, "Kid")
    result = build()
    assert result.children() == set()
    assert result.manifest["children"]["held_back"]["small_class"] == "suppressed"
    assert result.tables["diary.csv"] == []
    assert result.manifest["children_by_site"] == {}


def test_withdrawal_removes_the_child_from_the_next_export(world, study):
    children = cohort(world.north, 6, "Kid")
    leaving = children[0]
    assert name_of(leaving) in build().children()
    leaving.consent_withdrawn_date = timezone.localdate()
    leaving.save()
    result = build()
    assert name_of(leaving) not in result.children()
    for content in result.everything():
        assert name_of(leaving).encode() not in content
    assert result.manifest["children"]["eligible"] == 5


def test_pseudonyms_are_stable_within_a_study_and_differ_between_studies(world, study):
    other = Study.objects.create(code="trial-b", title="Trial B")
    other.sites.add(world.north)
    cohort(world.north, 5, "Kid")
    first, again, elsewhere = build(), build(), build(study="trial-b")
    assert first.children() == again.children()
    assert not first.children() & elsewhere.children()
    assert len(elsewhere.children()) == 5


def test_shifted_dates_move_each_child_by_its_own_days(world, study):
    children = cohort(world.north, 5, "Kid")
    result = build(shift_dates=True)
    assert "date" in result.tables["diary.csv"][0] and "day" not in result.tables["diary.csv"][0]
    for child in children:
        name = name_of(child)
        shift = deidentify.date_shift(settings.PSEUDONYM_KEY, name)
        real = sorted(DiaryEntry.objects.filter(child=child).values_list("date", flat=True))
        shown = sorted(
            date.fromisoformat(r["date"]) for r in result.tables["diary.csv"] if r["child"] == name
        )
        assert shown == [day - timedelta(days=shift) for day in real]
        row = next(r for r in result.tables["children.csv"] if r["child"] == name)
        first_dose = child.prescriptions.order_by("start_date").first().start_date
        assert row["day0_date"] == (first_dose - timedelta(days=shift)).isoformat()


def test_cutoff_is_rounded_down_to_the_months_freeze(world, study):
    children = cohort(world.north, 5, "Kid")
    cutoff = timezone.localdate() - timedelta(days=20)  # 10 June: the freeze is 31 May
    chosen = export.Options("trial-a", ("north",), cutoff)
    assert chosen.cutoff == date(2026, 5, 31)
    out = io.BytesIO()
    export.write_export(out, chosen)
    result = export_checks.check(out.getvalue())
    expected = DiaryEntry.objects.filter(child__in=children, date__lte=date(2026, 5, 31)).count()
    assert len(result.tables["diary.csv"]) == expected < DiaryEntry.objects.count()
    assert result.manifest["freeze"] == "2026-05-31"


# --- The leak test ----------------------------------------------------------------------------


def test_no_identifier_reaches_the_export(world, study):
    parent = make_user(
        "quixote.parent",  # email quixote.parent@example.org
        first_name="Philomena",
        last_name="Quixotewhistle",
    )
    child = consenting(
        world.north,
        "Zebedee",
        last_name="Quixotewhistle",
        reference="MRN-4471-QX",
        date_of_birth=date(2019, 2, 13),
        genotype="RNASEH2B c.529G>A Quxvariant",
    )
    CareLink.objects.create(caregiver=parent, child=child, relationship="mother")
    with_data(child, reporter=parent)
    DiaryEntry.objects.filter(child=child).update(
        note="Zebedee saw Dr Wobblesworth at 12 Fennimore Lane, call 07700 900461"
    )
    record_lab(
        child,
        parent,
        "ifn_score",
        child.today() - timedelta(days=3),
        "12",
        "score",
        assay="Assay-Quixote-Lab",
        positivity_threshold=2,
    )
    child.prescriptions.update(note="Mother Philomena asked for syrup")
    others = [
        with_data(consenting(world.north, f"Other{n}", date_of_birth=date(2019, 2, 20)), seed=n)
        for n in range(4)
    ]
    result = build()
    assert name_of(child) in result.children()  # exported, so a leak would show
    assert len(result.children()) == 5
    secrets = [
        "Zebedee",
        "Quixotewhistle",
        "Philomena",
        "quixote",
        "MRN-4471",
        "Quxvariant",
        "c.529G>A",
        "Wobblesworth",
        "Fennimore",
        "07700",
        "Assay-Quixote",
        "syrup",
        "North Hospital",
        "2019-02-13",
        "13/02/2019",
        "20190213",
        settings.PSEUDONYM_KEY,
        *(str(pk) for pk in DiaryEntry.objects.values_list("id", flat=True)),
        *(c.first_name for c in others),
    ]
    for content in result.everything():
        lowered = content.lower()
        for secret in secrets:
            assert secret.lower().encode() not in lowered, secret
    for name, content in result.members.items():
        if name.endswith(".csv") and name != "data_dictionary.csv":
            assert not ISO_DATE.search(content), f"a calendar date in {name}"
    log_values = str(list(ExportLog.objects.values()))
    assert settings.PSEUDONYM_KEY not in log_values
    # The free-text option is what lets a note through: the test above can fail.
    with_notes = build(include_free_text=True)
    assert b"Wobblesworth" in with_notes.members["diary.csv"]
    assert b"Assay-Quixote-Lab" in with_notes.members["labs.csv"]


# --- Who may export ---------------------------------------------------------------------------


def post_export(client, **data):
    fields = {"study": "trial-a", "sites": ["north"], "cutoff": timezone.localdate().isoformat()}
    fields.update(data)
    return client.post(reverse("exports"), fields)


def test_researcher_exports_and_downloads_in_the_browser_flow(world, study, client_for):
    cohort(world.north, 5, "Kid")
    client = client_for(world.rita)
    page = client.get(reverse("exports"))
    assert page.status_code == 200 and b"trial-a" in page.content
    response = post_export(client)
    assert response.status_code == 302
    log = ExportLog.objects.get()
    assert log.status == ExportStatus.DONE and log.requested_by == world.rita
    assert log.counts["exported"] == 5 and len(log.checksum) == 64
    assert log.options["include_free_text"] is False
    download = client.get(reverse("export_download", args=[log.pk]))
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    export_checks.check(data)
    import hashlib

    assert hashlib.sha256(data).hexdigest() == log.checksum
    log.refresh_from_db()
    assert log.downloads == 1
    listing = client.get(reverse("exports")).content.decode()
    assert reverse("export_download", args=[log.pk]) in listing


def test_a_site_the_researcher_is_not_linked_to_is_404(world, study, client_for):
    client = client_for(world.rita)
    other = Study.objects.create(code="trial-s", title="South only")
    other.sites.add(world.south)  # rita is a researcher there, with no link
    assert post_export(client, study="trial-s").status_code == 404
    assert post_export(client, study="trial-zzz").status_code == 404
    assert not ExportLog.objects.exists()


def test_a_link_counts_only_while_the_researcher_is_a_researcher_of_the_site(
    world, study, client_for
):
    SiteMembership.objects.filter(user=world.rita, site=world.north).delete()
    client = client_for(world.rita)
    assert post_export(client).status_code == 403  # linked to no study any more
    SiteMembership.objects.create(user=world.rita, site=world.north, role=Role.RESEARCHER)
    assert post_export(client).status_code == 302


def test_caregivers_and_clinicians_cannot_export(world, study, client_for):
    for user in (world.alice, world.carol):
        client = client_for(user)
        assert client.get(reverse("exports")).status_code == 403
        assert post_export(client).status_code == 403
    assert not ExportLog.objects.exists()


def test_only_the_requester_downloads_and_site_admins_see_the_log(world, study, client_for):
    cohort(world.north, 5, "Kid")
    post_export(client_for(world.rita))
    log = ExportLog.objects.get()
    url = reverse("export_download", args=[log.pk])
    other = make_user("rex")
    SiteMembership.objects.create(user=other, site=world.north, role=Role.RESEARCHER)
    StudyLink.objects.create(study=study, site=world.north, researcher=other)
    for user in (world.sam, other, world.alice, world.carol):
        client = client_for(user)
        assert client.get(url).status_code == 404
    admin_page = client_for(world.sam).get(reverse("exports")).content.decode()
    assert "Rita" in admin_page and "trial-a" in admin_page and url not in admin_page
    other_page = client_for(other).get(reverse("exports")).content.decode()
    assert "Rita" not in other_page
    assert (
        client_for(world.rita).get(reverse("export_download", args=[uuid.uuid4()])).status_code
        == 404
    )


def test_the_export_page_says_why_children_were_held_back(world, study, client_for):
    cohort(world.north, 5, "Kid")
    with_data(consenting(world.north, "Savi", diagnosis="SAVI", genotype="STING1"))
    consenting(world.north, "Empty")  # nothing recorded
    post_export(client_for(world.rita))
    log = ExportLog.objects.get()
    assert log.counts["held_back"] == {"no_data": "suppressed", "small_class": "suppressed"}
    assert log.counts["eligible"] == "suppressed"  # else 7 − 5 = 2 held back would show
    page = client_for(world.rita).get(reverse("exports")).content.decode()
    assert "5 exported, 5 of them whole" in page
    assert "1 to 4 shared their values with fewer than k children" in page
    assert "1 to 4 had nothing recorded by the end of their record" in page


def test_free_text_waits_for_a_site_administrators_approval(world, study, client_for):
    """Attack 9: a researcher ticked "include free text" and downloaded notes with names in
    them. Now the export is built only once a site administrator, not the requester, approves."""
    children = cohort(world.north, 5, "Kid")
    DiaryEntry.objects.filter(child=children[0]).update(note="Zebedee saw Dr Wobblesworth")
    rita = client_for(world.rita)
    response = post_export(rita, include_free_text="on")
    assert response.status_code == 302
    log = ExportLog.objects.get()
    assert log.status == ExportStatus.AWAITING_APPROVAL and log.options["include_free_text"]
    assert log.file_name == "" and not any(research.export_dir().glob(f"{log.pk}*"))
    assert rita.get(reverse("export_download", args=[log.pk])).status_code == 404
    approve = reverse("export_approve", args=[log.pk])
    for user in (world.rita, world.carol, world.dan, world.alice):
        assert client_for(user).post(approve).status_code == 404
    assert research.run_export(log.pk) is False  # a worker cannot build it either
    assert research.approve(world.rita, log) is False  # nor its requester, whatever her roles
    log.refresh_from_db()
    assert log.status == ExportStatus.AWAITING_APPROVAL and not log.approvals.exists()
    sam = client_for(world.sam)
    page = sam.get(reverse("exports")).content.decode()
    assert "free text" in page and approve in page
    assert sam.post(approve).status_code == 302
    log.refresh_from_db()
    assert log.status == ExportStatus.DONE
    approval = log.approvals.get()
    assert (approval.site, approval.approved_by) == (world.north, world.sam)
    rita = client_for(world.rita)
    download = rita.get(reverse("export_download", args=[log.pk]))
    result = export_checks.check(b"".join(download.streaming_content))
    assert b"Wobblesworth" in result.members["diary.csv"]
    assert "approved by Sam" in rita.get(reverse("exports")).content.decode()
    sam = client_for(world.sam)
    assert sam.post(approve).status_code == 404  # approved once


def test_free_text_of_two_sites_needs_both_sites_approval(world, study, client_for, api_for):
    study.sites.add(world.south)
    StudyLink.objects.create(study=study, site=world.south, researcher=world.rita)
    sue = make_user("sue")
    SiteMembership.objects.create(user=sue, site=world.south, role=Role.SITE_ADMIN)
    cohort(world.north, 5, "Kid")
    response = api_for(world.rita).post(
        "/api/exports/", {"study": "trial-a", "include_free_text": True}, format="json"
    )
    assert response.status_code == 202 and response.json()["status"] == "awaiting"
    log = ExportLog.objects.get()
    client_for(world.sam).post(reverse("export_approve", args=[log.pk]))
    log.refresh_from_db()
    assert log.status == ExportStatus.AWAITING_APPROVAL and log.approvals.count() == 1
    client_for(sue).post(reverse("export_approve", args=[log.pk]))
    log.refresh_from_db()
    assert log.status == ExportStatus.DONE
    assert {
        a["site"] for a in api_for(world.rita).get(f"/api/exports/{log.pk}/").json()["approvals"]
    } == {"north", "south"}


def test_the_command_line_cannot_export_free_text(world, study, tmp_path):
    options = export.Options("trial-a", ("north",), timezone.localdate(), include_free_text=True)
    with pytest.raises(ValueError):
        research.log_command_export(None, study, [world.north], options, tmp_path / "x.zip")
    assert not ExportLog.objects.exists()


# --- Studies: site administrators link researchers -------------------------------------------


def test_site_admin_creates_a_study_and_links_a_researcher(world, client_for):
    client = client_for(world.sam)
    url = reverse("site_studies", args=["north"])
    assert client.get(url).status_code == 200
    client.post(url, {"action": "create", "new-code": "ags-jaki", "new-title": "AGS on JAKi"})
    created = Study.objects.get(code="ags-jaki")
    assert list(created.sites.all()) == [world.north] and created.owner_site == world.north
    response = client.post(
        url, {"action": "link", "link-study": created.pk, "link-researcher": world.rita.pk}
    )
    assert response.status_code == 302
    link = StudyLink.objects.get()
    assert (link.site, link.researcher, link.linked_by) == (world.north, world.rita, world.sam)
    # Someone who is not a researcher of the site cannot be linked.
    client.post(url, {"action": "link", "link-study": created.pk, "link-researcher": world.bob.pk})
    assert StudyLink.objects.count() == 1
    client.post(reverse("study_unlink", args=["north", link.pk]))
    assert not StudyLink.objects.exists()


def test_a_site_joins_a_study_only_when_the_owning_site_accepts(world, study, client_for):
    """Attack 9: any site administrator could join any study knowing its code."""
    study.owner_site = world.north
    study.save()
    sue = make_user("sue")
    SiteMembership.objects.create(user=sue, site=world.south, role=Role.SITE_ADMIN)
    south = client_for(sue)
    url = reverse("site_studies", args=["south"])
    known = south.post(url, {"action": "join", "join-code": "trial-a"}, follow=True)
    unknown = south.post(url, {"action": "join", "join-code": "trial-zzz"}, follow=True)
    message = "If a study has this code, its owning site&#x27;s administrators are asked"
    assert message in known.content.decode() and message in unknown.content.decode()
    assert list(study.sites.all()) == [world.north]  # not joined
    join = StudyJoinRequest.objects.get()
    assert (join.site, join.requested_by, join.accepted) == (world.south, sue, None)
    accept = reverse("study_join_decide", args=["north", join.pk, "accept"])
    # Neither the asking site nor anyone else decides; only North's administrators.
    assert (
        south.post(reverse("study_join_decide", args=["south", join.pk, "accept"])).status_code
        == 404
    )
    for user in (world.carol, world.dan, world.rita, world.alice):
        assert client_for(user).post(accept).status_code == 404
    sam = client_for(world.sam)
    assert (
        "South Hospital asks to take part in trial-a"
        in sam.get(reverse("site_studies", args=["north"])).content.decode()
    )
    assert sam.post(accept).status_code == 302
    assert set(study.sites.all()) == {world.north, world.south}
    join.refresh_from_db()
    assert (join.accepted, join.decided_by) == (True, world.sam)
    assert sam.post(accept).status_code == 404  # decided once


def test_only_the_sites_administrators_manage_its_studies(world, study, client_for):
    link = StudyLink.objects.get()
    for user in (world.carol, world.dan, world.rita, world.alice):
        client = client_for(user)
        assert client.get(reverse("site_studies", args=["north"])).status_code == 404
        assert client.post(reverse("study_unlink", args=["north", link.pk])).status_code == 404
    assert StudyLink.objects.exists()


# --- The command line and the API -------------------------------------------------------------


def test_command_writes_a_checked_export_and_logs_it(world, study, tmp_path, capsys):
    study.sites.add(world.south)
    cohort(world.north, 5, "Kid")
    cohort(world.south, 5, "Enfant", country="FR")
    out = tmp_path / "export.zip"
    call_command("export_anonymised", "--out", str(out), "--shift-dates")
    result = export_checks.check(out.read_bytes())
    assert len(result.children()) == 10
    assert "day0_date" in result.tables["children.csv"][0]
    log = ExportLog.objects.get()
    assert log.via == "command" and log.requested_by is None and log.options["shift_dates"]
    assert "10 children exported" in capsys.readouterr().out
    with pytest.raises(CommandError):  # south has not linked rita: no export of the study
        call_command("export_anonymised", "--out", str(out), "--as", "rita")
    StudyLink.objects.create(study=study, site=world.south, researcher=world.rita)
    call_command(
        "export_anonymised",
        "--out",
        str(out),
        "--as",
        "rita",
        "--cutoff",
        (timezone.localdate() - timedelta(days=5)).isoformat(),
    )
    assert len(export_checks.check(out.read_bytes()).children()) == 10  # both sites, always
    with pytest.raises(CommandError):
        call_command("export_anonymised", "--out", str(out), "--cutoff", "31/12/2025")


def test_a_command_export_that_cannot_be_written_is_logged_as_failed(world, study, tmp_path):
    cohort(world.north, 5, "Kid")
    out = tmp_path / "missing-folder" / "export.zip"
    with pytest.raises(FileNotFoundError):
        call_command("export_anonymised", "--out", str(out))
    log = ExportLog.objects.get()
    assert log.status == "failed" and "missing-folder" in log.error and log.finished_at
    assert not out.exists()


def test_api_exports(world, study, api_for):
    cohort(world.north, 5, "Kid")
    api = api_for(world.rita)
    response = api.post("/api/exports/", {"study": "trial-a", "sites": ["north"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "done" and body["counts"]["exported"] == 5
    assert body["sites"] == ["north"] and body["via"] == "api"
    download = api.get(body["download"])
    assert download.status_code == 200
    export_checks.check(b"".join(download.streaming_content))
    assert [e["id"] for e in api.get("/api/exports/").json()["results"]] == [body["id"]]
    denied = api.post("/api/exports/", {"study": "trial-a", "sites": ["south"]}, format="json")
    assert denied.status_code == 404  # not a site of the study
    assert api_for(world.alice).post("/api/exports/", {"study": "trial-a"}).status_code == 403
    assert api_for(world.alice).get(f"/api/exports/{body['id']}/").status_code == 404
    assert api_for(world.sam).get(f"/api/exports/{body['id']}/").status_code == 200
    assert api_for(world.sam).get(f"/api/exports/{body['id']}/download/").status_code == 404
    assert api_for(world.alice).get(f"/api/exports/{body['id']}/download/").status_code == 404


def test_a_study_is_exported_with_all_its_sites_so_sites_cannot_be_differenced(
    world, study, client_for, api_for
):
    """Attack 4: a North-only export beside a both-sites export told each child's site through
    the stable pseudonyms. An export now covers every site of the study, whatever is asked."""
    study.sites.add(world.south)
    cohort(world.north, 5, "Kid")
    cohort(world.south, 5, "Enfant", country="FR")
    client = client_for(world.rita)
    # South has not linked rita: she cannot export the study at all, not even North alone.
    assert post_export(client, sites=["north"]).status_code == 403
    StudyLink.objects.create(study=study, site=world.south, researcher=world.rita)
    assert post_export(client, sites=["north"]).status_code == 302
    assert post_export(client, sites=["north", "south"]).status_code == 302
    first, second = ExportLog.objects.order_by("created")
    assert [s.code for s in first.sites.all()] == ["north", "south"] == first.options["sites"]
    exports = []
    for log in (first, second):
        download = client.get(reverse("export_download", args=[log.pk]))
        exports.append(export_checks.check(b"".join(download.streaming_content)))
    assert exports[0].children() == exports[1].children() and len(exports[0].children()) == 10
    api = api_for(world.rita)
    partial = api.post("/api/exports/", {"study": "trial-a", "sites": ["north"]}, format="json")
    assert partial.status_code == 400 and "every site" in partial.json()["sites"][0]
    summary = api.get("/api/cohort/summary/", {"study": "trial-a", "site": "north"})
    assert summary.status_code == 400
    assert api.get("/api/cohort/summary/", {"study": "trial-a"}).status_code == 200
    assert ExportLog.objects.count() == 2


def test_exports_are_in_the_api_schema(db, client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/exports/" in schema and "/api/exports/{id}/download/" in schema


def test_growth_sds_visit_assessments_and_interferon_assays_are_exported(world, study):
    from diary import assessments
    from diary.models import GrowthMeasurement, VisitAssessment

    children = cohort(world.north, 5, "Visit")
    day = children[0].today() - timedelta(days=20)
    for n, child in enumerate(children):
        VisitAssessment.objects.create(
            child=child,
            date=day,
            ags_items={key: int(i < n + 2) for i, key in enumerate(assessments.ITEM_KEYS)},
            ags_scale=n + 2,
            physician_global=40 + n,
            note="Seen with Dr Who",
        )
        assay = "NanoString of Dr Smith" if n < 3 else "qPCR"
        record_lab(child, world.carol, "ifn_score", day, 10 + n, "score", assay=assay, alert=False)
    result = build()
    growth = result.tables["growth.csv"]
    stored = GrowthMeasurement.objects.filter(child__in=children)
    assert len(growth) == stored.count()
    assert all(r["growth_reference"] == "uk-who" and r["height_sds"] != "" for r in growth)
    first = stored.order_by("child_id", "date").first()
    mine = [r for r in growth if r["child"] == name_of(first.child)][0]
    assert float(mine["height_sds"]) == pytest.approx(first.height_sds)
    visits = {r["child"]: r for r in result.tables["assessments.csv"]}
    assert len(visits) == 5
    row = visits[name_of(children[3])]
    assert (row["ags_scale"], row["severity_band"]) == ("5", "moderate")
    assert float(row["physician_global"]) == 43
    assert row["ags_normocephaly"] == "1" and row["ags_independent_walking"] == "0"
    ifn = [r for r in result.tables["labs.csv"] if r["analyte"] == "ifn_score"]
    groups = {r["child"]: r["assay_group"] for r in ifn}
    assert {groups[name_of(c)] for c in children[:3]} == {"1"}  # "NanoString…" < "qPCR"
    assert {groups[name_of(c)] for c in children[3:]} == {"2"}
    everything = b"".join(result.everything())
    assert b"Smith" not in everything and b"Dr Who" not in everything
