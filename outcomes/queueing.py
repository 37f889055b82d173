"""Work for the Celery worker, queued by task name.

The tasks (`outcomes/tasks.py`, an interface) call the derived modules; those modules may not
import the tasks back, so they ask the app to send the task registered under its name."""

from celery import current_app

SEND_REMINDERS = "outcomes.tasks.send_reminders"
RUN_EXPORT = "outcomes.tasks.run_export"
DRAW_TIMELINE = "outcomes.tasks.draw_timeline"
TASKS = (SEND_REMINDERS, RUN_EXPORT, DRAW_TIMELINE)


def enqueue(task: str, *args, **kwargs):
    """Publish TASK with ARGS and KWARGS; raises what the broker raises. Through the
    registered task, not `send_task`, so that `CELERY_TASK_ALWAYS_EAGER` is honoured."""
    app = current_app
    if task not in app.tasks:
        app.loader.import_default_modules()  # a web process reads the apps' tasks.py lazily
    return app.tasks[task].apply_async(args, kwargs)
