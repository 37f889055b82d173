"""Celery tasks: beat triggers the sweeps, workers send. Each step is a small function in
reminders.py that tests call directly."""

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from outcomes import reminders

# Retries never wait longer than the broker's visibility timeout (1 hour).
MAX_COUNTDOWN = 3000


@shared_task
def sweep_reminders() -> int:
    return reminders.sweep()


@shared_task
def weekly_digest() -> int:
    return reminders.weekly_digest()


@shared_task(acks_late=True)
def send_reminders(ids: list[int]) -> int:
    """Send a batch; a reminder that meets a temporary failure is retried on its own."""
    sent = 0
    for pk in ids:
        try:
            sent += reminders.send_one(pk)
        except reminders.TransientSendError:
            send_reminder.apply_async((pk,), countdown=5)
    return sent


@shared_task(bind=True, max_retries=10, acks_late=True)
def send_reminder(self, pk: int) -> bool:
    try:
        return reminders.send_one(pk)
    except reminders.TransientSendError as error:
        countdown = min(MAX_COUNTDOWN, 2**self.request.retries * 5)
        raise self.retry(exc=error, countdown=countdown) from error


@worker_ready.connect
def sweep_on_start(sender=None, **kwargs) -> None:
    """Catch up at once after a restart or deploy instead of waiting for beat's first
    interval; the sweep makes each reminder once, so several workers starting is harmless."""
    if settings.REMINDER_SWEEP_ON_START:
        sweep_reminders.delay()


@shared_task(acks_late=True)
def run_export(pk: str) -> bool:
    """Build a large anonymised export, then email its requester the link."""
    from outcomes import research
    from outcomes.models import ExportLog

    if not research.run_export(pk):
        return False
    research.send_export_ready(ExportLog.objects.select_related("requested_by", "study").get(pk=pk))
    return True


@shared_task(acks_late=True)
def draw_timeline(child_id: int) -> int:
    """Draw a child's charts after a change, before anyone asks for them (pages.draw_ahead)."""
    from outcomes import pages

    return pages.draw_ahead(child_id)
