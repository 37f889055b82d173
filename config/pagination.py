"""Paging of API lists."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """`?offset=abc` is refused (400) instead of silently read as 0."""

    max_limit = 1000

    def _number(self, request, name: str) -> None:
        raw = request.query_params.get(name)
        if raw is not None and not (raw.isascii() and raw.isdigit()):
            raise ValidationError({name: [_("Give a whole number of 0 or more.")]})

    def get_limit(self, request):
        self._number(request, self.limit_query_param)
        return super().get_limit(request)

    def get_offset(self, request):
        self._number(request, self.offset_query_param)
        return super().get_offset(request)
