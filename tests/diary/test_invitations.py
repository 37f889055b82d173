"""Clinicians invite caregivers (and site admins invite team members) by signed, expiring link."""

import re
from datetime import timedelta

import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from diary.models import CareLink, Invitation, Role, SiteMembership, User
from tests.conftest import PASSWORD, complete_enrolment, login


def invite_link(message) -> str:
    return re.search(r"http://\S+/accounts/invite/\S+/", message.body).group(0)


def invite(client, world, on_commit, email="grandma@example.org", relationship="grandparent"):
    login(client, world.carol)
    with on_commit(execute=True):
        with_email = client.post(
            reverse("child_invite", args=[world.amy.pk]),
            {"email": email, "relationship": relationship},
        )
    assert with_email.status_code == 302
    client.logout()
    return invite_link(mail.outbox[-1])


def accept_form(client, link, **extra):
    data = {"first_name": "Gran", "last_name": "Khan", "password1": PASSWORD, "password2": PASSWORD}
    data.update(extra)
    return client.post(link.removeprefix("http://127.0.0.1:8000"), data)


def test_caregiver_invitation_end_to_end(world, client, django_capture_on_commit_callbacks):
    link = invite(client, world, django_capture_on_commit_callbacks)
    message = mail.outbox[-1]
    assert message.to == ["grandma@example.org"]
    assert "Amy" in message.subject
    assert message.alternatives and "Set my password" in message.alternatives[0][0]
    response = accept_form(client, link)
    user = User.objects.get(email="grandma@example.org")
    assert response.status_code == 302
    assert response["Location"] == reverse("child_detail", args=[world.amy.pk])
    assert CareLink.objects.get(caregiver=user, child=world.amy).relationship == "grandparent"
    # Signed in straight away, and only Amy is visible.
    assert client.get(reverse("child_detail", args=[world.amy.pk])).status_code == 200
    assert client.get(reverse("child_detail", args=[world.ben.pk])).status_code == 404
    # Sign in later with the email as username.
    client.logout()
    signed_in = client.post(
        reverse("login"), {"username": "grandma@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 302 and signed_in.url == reverse("home")


def test_reused_link_gets_a_clear_page(world, client, django_capture_on_commit_callbacks):
    link = invite(client, world, django_capture_on_commit_callbacks)
    accept_form(client, link)
    client.logout()
    response = client.get(link.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 410
    assert "This invitation was already used" in response.content.decode()
    response = accept_form(client, link, first_name="Mallory")
    assert response.status_code == 410
    assert User.objects.filter(email="grandma@example.org").count() == 1


def test_expired_link_gets_a_clear_page(world, client, django_capture_on_commit_callbacks):
    link = invite(client, world, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        response = client.get(link.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 410
    assert "This invitation has expired" in response.content.decode()
    assert not User.objects.filter(email="grandma@example.org").exists()


def test_tampered_link_gets_a_clear_page(world, client):
    response = client.get(reverse("accept_invitation", args=["1:abc:def"]))
    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_withdrawn_invitation(world, client, django_capture_on_commit_callbacks):
    link = invite(client, world, django_capture_on_commit_callbacks)
    login(client, world.carol)
    invitation = Invitation.objects.get()
    client.post(reverse("revoke_invitation", args=[invitation.pk]))
    client.logout()
    response = client.get(link.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


def test_only_the_childs_team_can_withdraw(world, client, django_capture_on_commit_callbacks):
    invite(client, world, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    for user in (world.alice, world.dan, world.bob):
        login(client, user)
        assert client.post(reverse("revoke_invitation", args=[invitation.pk])).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_weak_password_and_mismatch_are_explained(
    world, client, django_capture_on_commit_callbacks
):
    link = invite(client, world, django_capture_on_commit_callbacks)
    page = accept_form(client, link, password1="12345678", password2="12345678").content.decode()
    assert "This password is too common." in page
    page = accept_form(client, link, password2="something else entirely").content.decode()
    assert "The two passwords differ." in page
    assert not User.objects.filter(email="grandma@example.org").exists()


def test_existing_account_signs_in_then_accepts(world, client, django_capture_on_commit_callbacks):
    link = invite(
        client,
        world,
        django_capture_on_commit_callbacks,
        email="bob@example.org",
        relationship="other",
    )
    path = link.removeprefix("http://127.0.0.1:8000")
    page = client.get(path).content.decode()
    assert "An account with this email already exists" in page
    login(client, world.alice)  # the wrong account
    assert client.post(path).status_code == 403
    login(client, world.bob)
    response = client.post(path)
    assert response.status_code == 302
    assert CareLink.objects.filter(caregiver=world.bob, child=world.amy).exists()


def test_site_admin_invites_a_clinician(world, client, django_capture_on_commit_callbacks):
    login(client, world.sam)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("site_members", args=["north"]),
            {"email": "newdoc@example.org", "role": Role.CLINICIAN},
        )
    client.logout()
    accept_form(client, invite_link(mail.outbox[-1]))
    doctor = User.objects.get(email="newdoc@example.org")
    assert SiteMembership.objects.get(user=doctor).site == world.north
    # A new clinician sets up two-factor sign-in before seeing any child.
    page = client.get(reverse("child_detail", args=[world.amy.pk]))
    assert page.status_code == 302 and page.url.startswith(reverse("two_factor_setup"))
    complete_enrolment(client, doctor)
    assert client.get(reverse("child_detail", args=[world.amy.pk])).status_code == 200


def test_site_admin_removes_a_member(world, client):
    login(client, world.sam)
    membership = SiteMembership.objects.get(user=world.carol)
    client.post(reverse("site_member_remove", args=["north", membership.pk]))
    login(client, world.carol)
    assert client.get(reverse("child_detail", args=[world.amy.pk])).status_code == 404
    # The removal is in the history, with who did it.
    record = SiteMembership.history.filter(id=membership.pk, history_type="-").get()
    assert record.history_user == world.sam
