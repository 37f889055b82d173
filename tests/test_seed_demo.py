from django.core.management import call_command

from diary.models import CareLink, Child, Site, SiteMembership, User
from outcomes.models import LabFlag, LabResult

MODELS = (Site, Child, User, SiteMembership, CareLink, LabResult, LabFlag)


def test_seed_demo_is_idempotent_and_prints_logins(db, capsys, settings):
    settings.DEMO_PASSWORD = ""
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = [m.objects.count() for m in MODELS]
    call_command("seed_demo")
    assert [m.objects.count() for m in MODELS] == counts
    assert "demo-pass-2026" in first and "demo-clinician2" in first
    parent = User.objects.get(username="demo-parent")
    assert parent.check_password("demo-pass-2026")
    assert list(Child.objects.visible_to(parent).values_list("reference", flat=True)) == ["N-001"]
    assert not Child.objects.visible_to(User.objects.get(username="demo-researcher")).exists()
    assert User.objects.get(username="admin").is_superuser


def test_seed_demo_uses_demo_password(db, capsys, settings):
    settings.DEMO_PASSWORD = "another-pass-1"
    call_command("seed_demo", cohort=0)
    out = capsys.readouterr().out
    assert "another-pass-1" not in out
    assert User.objects.get(username="demo-clinician").check_password("another-pass-1")


def test_demo_shows_flags_overdue_tests_and_sends_one_reminder(
    db, settings, capsys, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.core import mail
    from django.utils import timezone

    from outcomes import reminders
    from outcomes.models import Reminder, ReminderKind

    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("seed_demo", cohort=0)
    # Results follow the schedule: only Noah's skipped tests are overdue.
    today = timezone.localdate()
    overdue = reminders.overdue_counts(Child.objects.all(), today)
    assert {Child.objects.get(pk=pk).reference for pk, n in overdue.items() if n} == {"N-002"}
    assert [f.result.child.reference for f in LabFlag.objects.open()] == ["N-003"]
    # The first sweep emails the demo parent about today's diary, and only once.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reminders.sweep(timezone.now() + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        reminders.sweep(timezone.now() + timedelta(minutes=2))
    diary = Reminder.objects.filter(kind=ReminderKind.DIARY)
    assert [r.recipient.username for r in diary] == ["demo-parent"]
    sent = [m.to for m in mail.outbox if "diary" in m.subject.lower()]
    assert sent == [["demo-parent@example.org"]]
