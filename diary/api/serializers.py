from django.utils.translation import gettext as _
from rest_framework import serializers

from diary.models import Child, Site


class ChildSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", queryset=Site.objects.none())
    disease_group = serializers.CharField(read_only=True)
    has_research_consent = serializers.BooleanField(read_only=True)

    class Meta:
        model = Child
        fields = [
            "id",
            "site",
            "reference",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "diagnosis",
            "disease_group",
            "genotype",
            "country",
            "timezone",
            "language",
            "consent_version",
            "consent_date",
            "consent_withdrawn_date",
            "has_research_consent",
            "created",
        ]
        read_only_fields = ["id", "created"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            # Only the caller's own sites can be named: no placing a child elsewhere.
            self.fields["site"].queryset = request.user.clinical_sites()

    def validate(self, attrs):
        instance = Child(**{**self._current(), **attrs})
        instance.clean()  # model rules (dates, genotype, consent) with their messages
        site, reference = attrs.get("site", instance.site), attrs.get("reference", "")
        if reference:
            clash = Child.objects.filter(site=site, reference=reference)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"reference": _("Another child at this site has this reference.")}
                )
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {
            f.name: getattr(self.instance, f.name)
            for f in Child._meta.concrete_fields
            if f.name not in ("id", "created_by")
        }
