"""A new clinician sets up an authenticator app and signs in with codes; a parent needs none."""

from base64 import b32decode

import pytest
from django_otp.oath import TOTP

from tests.browser.conftest import AXE, axe_violations, screenshot
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Phone:
    """The clinician's authenticator app: only knows the key typed in from the page."""

    def __init__(self, key_text: str):
        self.key = b32decode(key_text.replace(" ", ""))
        self.used = -1

    def code(self) -> str:
        totp = TOTP(self.key)
        while totp.t() <= self.used:  # a code is accepted once: the next one
            totp.drift += 1
        self.used = totp.t()
        return f"{totp.token():06d}"


def password_step(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def serious_problems(page, name, found):
    if AXE.exists():
        problems = axe_violations(page)
        if problems:
            found[name] = [(v["id"], v["impact"], len(v["nodes"])) for v in problems]


def test_clinician_sets_up_an_app_then_signs_in_with_a_code(world, phone, live_server):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: npm ci --prefix tests/browser")
    found = {}
    phone.goto(f"{live_server.url}/accounts/login/")
    serious_problems(phone, "sign in", found)
    password_step(phone, live_server.url, "carol")
    # No app yet: the setup page, with a QR code and the key in text.
    phone.get_by_role("heading", name="Set up two-factor sign-in").wait_for()
    assert phone.get_by_role("img", name="QR code").is_visible()
    screenshot(phone, "two-factor-setup-390")
    serious_problems(phone, "setup", found)
    app = Phone(phone.locator("#totp-secret").inner_text())
    phone.get_by_role("textbox", name="Code", exact=True).fill("12345")  # a digit short
    phone.get_by_role("button", name="Confirm").click()
    phone.get_by_text("That code is not right").wait_for()
    serious_problems(phone, "setup with an error", found)
    phone.wait_for_timeout(1100)  # django-otp refuses any code for 1 s after a wrong one
    phone.get_by_role("textbox", name="Code", exact=True).fill(app.code())
    phone.get_by_role("button", name="Confirm").click()
    phone.get_by_role("heading", name="Your backup codes").wait_for()
    codes = phone.locator(".backup-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(phone, "backup-codes-390")
    serious_problems(phone, "backup codes", found)
    phone.get_by_role("link", name="I have kept them, continue").click()
    phone.get_by_role("heading", name="Children of your sites").wait_for()
    # Sign out, and in again: now the code step.
    phone.get_by_role("button", name="Sign out").click()
    phone.get_by_role("heading", name="Sign in").wait_for()
    password_step(phone, live_server.url, "carol")
    phone.get_by_role("heading", name="Enter your code").wait_for()
    serious_problems(phone, "code step", found)
    phone.get_by_role("textbox", name="Code", exact=True).fill(app.code())
    phone.get_by_role("button", name="Continue").click()
    phone.get_by_role("heading", name="Children of your sites").wait_for()
    phone.get_by_role("link", name="Carol").click()
    phone.get_by_role("heading", name="Sign-in security").wait_for()
    assert phone.get_by_text("You have 10 backup codes left.").is_visible()
    serious_problems(phone, "account security", found)
    # Without the phone: a backup code, once.
    phone.get_by_role("button", name="Sign out").click()
    password_step(phone, live_server.url, "carol")
    phone.get_by_role("textbox", name="Code", exact=True).fill(codes[0])
    phone.get_by_role("button", name="Continue").click()
    phone.get_by_text("You used a backup code; 9 are left.").wait_for()
    serious_problems(phone, "home with a message", found)
    assert found == {}


def test_parent_signs_in_without_a_code_and_api_docs_work_under_the_csp(world, phone, live_server):
    password_step(phone, live_server.url, "alice")
    phone.get_by_role("heading", name="Your children").wait_for()
    phone.get_by_role("link", name="Alice").click()
    phone.get_by_role("heading", name="Sign-in security").wait_for()
    assert phone.get_by_role("link", name="Set up two-factor sign-in").is_visible()
    found = {}
    serious_problems(phone, "parent account security", found)
    assert found == {}
    # Swagger UI renders from its own files under the (relaxed for styles) policy.
    phone.goto(f"{live_server.url}/api/docs/")
    phone.get_by_text("AGS diary API").first.wait_for()
    phone.locator(".opblock-tag").first.wait_for()


def test_admin_signs_in_with_a_code(world, phone, live_server):
    from tests.browser.conftest import sign_in

    make_user("boss", is_staff=True, is_superuser=True)
    sign_in(phone, live_server.url, "boss", PASSWORD)
    phone.goto(f"{live_server.url}/admin/")
    phone.get_by_role("heading", name="Site administration").wait_for()
