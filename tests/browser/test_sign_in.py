"""A parent and a clinician sign in on a phone-sized screen and see their home page."""

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_parent_signs_in_on_a_phone(world, phone, live_server):
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.get_by_role("heading", name="Your children").wait_for()
    assert phone.get_by_role("link", name="Amy", exact=True).is_visible()
    assert phone.get_by_text("Ben").count() == 0
    assert no_horizontal_scroll(phone)
    screenshot(phone, "home-parent-390")
    phone.get_by_role("link", name="Amy", exact=True).click()
    phone.get_by_role("heading", name="Amy Test").wait_for()
    # The smallest phones: nothing spills sideways at 320 px.
    phone.set_viewport_size({"width": 320, "height": 640})
    assert no_horizontal_scroll(phone)


def test_wrong_password_shows_the_standard_message(world, phone, live_server):
    sign_in(phone, live_server.url, "alice", "not the password")
    phone.get_by_text("Please enter a correct username and password").wait_for()


def test_clinician_signs_in_and_switches_to_french(world, phone, live_server):
    sign_in(phone, live_server.url, "carol", PASSWORD)
    phone.get_by_role("heading", name="Children of your sites").wait_for()
    assert phone.get_by_role("link", name="Amy Test").is_visible()
    phone.get_by_label("Language").select_option("fr")
    phone.get_by_role("button", name="Change").click()
    phone.wait_for_selector("html[lang=fr]")
    screenshot(phone, "home-clinician-fr-390")
    world.carol.refresh_from_db()
    assert world.carol.language == "fr"
