"""Celery tasks: beat triggers the sweeps, workers send. Each step is a small function in
reminders.py that tests call directly."""

from datetime import datetime, timedelta

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from outcomes import reminders

# Retries never wait longer than the broker's visibility timeout (1 hour).
MAX_COUNTDOWN = 3000
MAX_ROUNDS = 8  # then the leases run out and a later sweep starts a new chain


@shared_task
def sweep_reminders() -> int:
    return reminders.sweep()


@shared_task
def weekly_digest() -> int:
    return reminders.weekly_digest()


def countdown(round_: int) -> int:
    """Seconds before retry ROUND (0 is the first retry): REMINDER_RETRY_SECONDS, doubling."""
    return min(MAX_COUNTDOWN, settings.REMINDER_RETRY_SECONDS * 2**round_)


@shared_task(acks_late=True)
def send_reminders(
    ids: list[int], held: dict | None = None, round_: int = 0, lease: str | None = None
) -> int:
    """Send a batch. What meets a temporary failure is retried together, by one task: a mail
    server that is down stops the batch at the first email (every other would fail the same
    way). The retry holds the rows' claims until it runs, so no sweep queues them meanwhile.

    HELD: {row: attempts} of the claims a retry holds (JSON keys are strings); LEASE: the
    queue's lease the sweep took the rows with (ISO 8601)."""
    held = {int(pk): attempts for pk, attempts in (held or {}).items()}
    queued_with = datetime.fromisoformat(lease) if lease else None
    sent = 0
    again: dict[int, int | None] = {}
    for index, pk in enumerate(ids):
        try:
            sent += reminders.send_one(pk, expected=held.get(pk), lease=queued_with)
        except reminders.TransientSendError as error:
            again[pk] = error.attempts  # the claim this task made is the one to hold
            if error.server:
                again.update({rest: held.get(rest) for rest in ids[index + 1 :]})
                break
    if again and round_ < MAX_ROUNDS:
        wait = countdown(round_)
        until = timezone.now() + timedelta(seconds=wait) + reminders.LEASE
        kept = reminders.hold(again, until, lease=queued_with)
        if kept:
            try:
                send_reminders.apply_async(
                    (list(kept), {str(k): v for k, v in kept.items()}, round_ + 1),
                    countdown=wait,
                )
            except Exception:  # noqa: BLE001 - broker gone: the leases run out, a sweep requeues
                reminders.logger.warning("broker unavailable: %d retries wait", len(kept))
    return sent


@shared_task(acks_late=True)
def send_reminder(pk: int) -> int:
    """One reminder (messages queued by an earlier version)."""
    return send_reminders([pk])


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
