"""Celery tasks: beat triggers the sweeps, workers send. Each step is a small function in
reminders.py that tests call directly."""

from celery import shared_task

from outcomes import reminders

# Retries never wait longer than the broker's visibility timeout (1 hour).
MAX_COUNTDOWN = 3000


@shared_task
def sweep_reminders() -> int:
    return reminders.sweep()


@shared_task
def weekly_digest() -> int:
    return reminders.weekly_digest()


@shared_task(bind=True, max_retries=10, acks_late=True)
def send_reminder(self, pk: int) -> bool:
    try:
        return reminders.send_one(pk)
    except reminders.TransientSendError as error:
        countdown = min(MAX_COUNTDOWN, 2**self.request.retries * 5)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task(acks_late=True)
def run_export(pk: str) -> bool:
    """Build a large anonymised export, then email its requester the link."""
    from outcomes import research
    from outcomes.models import ExportLog

    if not research.run_export(pk):
        return False
    research.send_export_ready(ExportLog.objects.select_related("requested_by", "study").get(pk=pk))
    return True
