"""Sign-in, tokens, password reset and the user's language."""

import re

from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD, login

STANDARD = "Please enter a correct username and password"


def test_sign_in_page_and_success(world, client):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"


def test_wrong_password_does_not_reveal_whether_the_user_exists(world, client):
    known = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    unknown = client.post("/accounts/login/", {"username": "nobody", "password": "nope"})
    assert STANDARD in known.content.decode()
    assert STANDARD in unknown.content.decode()
    assert known.status_code == unknown.status_code == 200


def test_token_endpoint(world, client):
    response = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    listing = client.get("/api/children/", HTTP_AUTHORIZATION=f"Token {token}")
    assert [row["first_name"] for row in listing.json()["results"]] == ["Amy"]
    bad = client.post("/api/auth/token/", {"username": "alice", "password": "nope"})
    missing = client.post("/api/auth/token/", {"username": "nobody", "password": "nope"})
    assert bad.status_code == missing.status_code == 400
    assert bad.json() == missing.json()


def test_password_reset_by_email(world, client):
    client.post(reverse("password_reset"), {"email": "alice@example.org"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/reset/\S+/", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    new = "a much newer passphrase 42"
    client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    signed_in = client.post(reverse("login"), {"username": "alice", "password": new})
    assert signed_in.status_code == 302 and signed_in.url == reverse("home")


def test_reset_for_unknown_email_looks_the_same(world, client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_language_switch_is_remembered_on_the_account(world, client):
    login(client, world.alice)
    response = client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert response.status_code == 302
    world.alice.refresh_from_db()
    assert world.alice.language == "fr"
    page = client.get("/").content.decode()
    assert '<html lang="fr">' in page
    # A fresh browser, same account: still French.
    client.cookies.clear()
    login(client, world.alice)
    assert '<html lang="fr">' in client.get("/").content.decode()


def test_language_switch_refuses_unknown_language_and_foreign_redirects(world, client):
    response = client.post(
        reverse("set_language"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    assert "django_language" not in response.cookies


def test_anonymous_french_sign_in_page_is_french(world, client):
    client.cookies["django_language"] = "fr"
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="fr">' in page
    assert "Nom d’utilisateur" in page
