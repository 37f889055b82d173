"""The demo researcher downloads an anonymised zip in a real browser."""

import pytest
from django.core.management import call_command

from outcomes.models import ExportLog
from tests.browser.conftest import screenshot, sign_in
from tests.outcomes import export_checks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def laptop(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def test_demo_researcher_downloads_an_anonymised_zip(laptop, live_server, settings, tmp_path):
    settings.DEMO_PASSWORD = ""
    call_command("seed_demo")
    sign_in(laptop, live_server.url, "demo-researcher", "demo-pass-2026")
    laptop.get_by_role("link", name="Anonymised exports").click()
    laptop.get_by_role("heading", name="New export").wait_for()
    # Every site of the study, always: there is no site to choose.
    assert laptop.get_by_label("north").count() == 0
    laptop.get_by_role("button", name="Prepare the export").click()
    laptop.get_by_text("The export is ready to download.").wait_for()
    screenshot(laptop, "exports-researcher")
    with laptop.expect_download() as waiting:
        laptop.locator("#exports").get_by_role("link", name="Download").first.click()
    download = waiting.value
    assert download.suggested_filename.startswith("demo-study-anonymised-")
    path = tmp_path / "export.zip"
    download.save_as(path)
    result = export_checks.check(path.read_bytes())
    assert result.children(), "the demo export holds no child"
    log = ExportLog.objects.get()
    assert log.requested_by.username == "demo-researcher" and log.downloads == 1
