"""Query filters of the API, strict: what the schema says is what is accepted."""

import re

import django_filters
from django import forms
from django.utils.translation import gettext as _

from diary.models import Child


class StrictForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        # `?child=` is a client's mistake, not "no filter": refuse it instead of guessing.
        for key, value in self.data.items():
            name = re.sub(r"_(after|before)$", "", key)
            if name in self.fields and value == "":
                self.add_error(name, _("Give a value or leave the parameter out."))
        return cleaned


class ChildIdFilter(django_filters.NumberFilter):
    # Bounded like the primary key: a larger number overflowed SQLite (a 500 found by fuzzing).
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class StrictFilterSet(django_filters.FilterSet):
    # By id, without looking the child up: a 400 for an unknown id would tell which exist.
    child = ChildIdFilter(field_name="child", help_text="A child's id.")

    class Meta:
        form = StrictForm


def filterset_for(model, *names: str, base=StrictFilterSet):
    """A strict FilterSet of MODEL on NAMES (besides `child`, which every child's row has)."""
    meta = type("Meta", (base.Meta,), {"model": model, "fields": ["child", *names]})
    return type(f"{model.__name__}Filter", (base,), {"Meta": meta})


class ChildFilter(django_filters.FilterSet):
    class Meta:
        model = Child
        fields = ["site__code", "diagnosis"]
        form = StrictForm
