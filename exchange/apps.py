from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    """Import and export of a child's identifiable data: it reads both `diary` (the records)
    and `outcomes` (lab results), so it lives beside them, not inside either."""

    name = "exchange"
    verbose_name = _("Data import and export")
