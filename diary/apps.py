from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiaryConfig(AppConfig):
    name = "diary"
    verbose_name = _("Diary")

    def ready(self):
        from diary import (
            security,  # noqa: F401 - connects the sign-in signal
            tokens,  # noqa: F401 - revokes API tokens on password or role changes
        )
