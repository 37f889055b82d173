"""A large export goes to a real Celery worker, which builds the zip and emails the link."""

import time
from email import message_from_bytes

import pytest
from django.urls import reverse
from django.utils import timezone

from outcomes.models import ExportLog, ExportStatus, Study, StudyLink
from tests.integration.conftest import wait_for
from tests.outcomes import export_checks
from tests.outcomes.test_export import cohort

pytestmark = pytest.mark.django_db(transaction=True)

# The real SMTP server and Celery workers of the reminder tests.


def test_a_large_export_is_built_by_a_worker_and_the_link_emailed(
    world,
    smtp,
    workers,
    client_for,
    settings,
):
    settings.EXPORT_INLINE_MAX_ROWS = 10  # every export here counts as large
    study = Study.objects.create(code="trial-a", title="Trial A")
    study.sites.add(world.north)
    StudyLink.objects.create(study=study, site=world.north, researcher=world.rita)
    # Today, not a fixed day: 150 days of diary outlast the freeze and each record's end.
    cohort(world.north, 5, "Kid", days=150)
    handler, port = smtp()
    client = client_for(world.rita)
    response = client.post(
        reverse("exports"),
        {"study": "trial-a", "sites": ["north"], "cutoff": timezone.localdate().isoformat()},
        follow=True,
    )
    assert "You will get an email" in response.content.decode()
    log = ExportLog.objects.get()
    assert log.status == ExportStatus.PENDING
    workers(1, port)
    assert wait_for(lambda: handler.messages, 90), "no email arrived"
    log.refresh_from_db()
    assert log.status == ExportStatus.DONE and log.counts["exported"] == 5
    recipients, content = handler.messages[0]
    assert recipients == [world.rita.email]
    message = message_from_bytes(content)
    assert "trial-a" in message["Subject"]
    text = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    path = reverse("export_download", args=[log.pk])
    assert settings.SITE_URL + path in text
    download = client.get(path)
    assert download.status_code == 200
    export_checks.check(b"".join(download.streaming_content))
    time.sleep(1)
    assert len(handler.messages) == 1
