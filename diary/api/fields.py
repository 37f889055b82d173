"""Input fields that take exactly what the schema says."""

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class Text(serializers.CharField):
    """Text only: a number where text is expected is the client's mistake, not text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


NUMBER_OR_TEXT = {
    "oneOf": [{"type": "string", "format": "decimal"}, {"type": "number"}],
    "description": 'A number, or a decimal number as text (e.g. "2.5" or "2,5").',
}


@extend_schema_field(NUMBER_OR_TEXT)
class Amount(serializers.DecimalField):
    """A decimal amount: JSON numbers are accepted besides decimal strings (as DRF does)."""


@extend_schema_field(NUMBER_OR_TEXT)
class NumberText(serializers.CharField):
    """A value converted later (a lab result with its unit): a number or its text."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: Text,
        models.TextField: Text,
        models.DecimalField: Amount,
    }
