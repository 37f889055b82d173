from django.core.management import call_command

from diary.models import CareLink, Child, Site, SiteMembership, User


def test_seed_demo_is_idempotent_and_prints_logins(db, capsys, settings):
    settings.DEMO_PASSWORD = ""
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = [m.objects.count() for m in (Site, Child, User, SiteMembership, CareLink)]
    call_command("seed_demo")
    assert [m.objects.count() for m in (Site, Child, User, SiteMembership, CareLink)] == counts
    assert "demo-pass-2026" in first and "demo-clinician2" in first
    parent = User.objects.get(username="demo-parent")
    assert parent.check_password("demo-pass-2026")
    assert list(Child.objects.visible_to(parent).values_list("reference", flat=True)) == ["N-001"]
    assert not Child.objects.visible_to(User.objects.get(username="demo-researcher")).exists()
    assert User.objects.get(username="admin").is_superuser


def test_seed_demo_uses_demo_password(db, capsys, settings):
    settings.DEMO_PASSWORD = "another-pass-1"
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "another-pass-1" not in out
    assert User.objects.get(username="demo-clinician").check_password("another-pass-1")
