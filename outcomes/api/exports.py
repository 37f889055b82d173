"""/api/exports/: a researcher's anonymised exports (and their sites' for site administrators)."""

from datetime import date

from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from outcomes import research
from outcomes.models import ExportLog, ExportStatus


class ExportLogSerializer(serializers.ModelSerializer):
    study = serializers.CharField(source="study.code")
    sites = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    download = serializers.SerializerMethodField()
    approvals = serializers.SerializerMethodField()

    class Meta:
        model = ExportLog
        fields = [
            "id",
            "requested_by",
            "via",
            "study",
            "sites",
            "options",
            "status",
            "created",
            "finished_at",
            "counts",
            "approvals",
            "checksum",
            "size",
            "download",
        ]
        read_only_fields = fields

    def get_approvals(self, log) -> list[dict]:
        """Who approved the free text, per site."""
        return [
            {"site": a.site.code, "approved_by": a.approved_by.username, "at": a.created}
            for a in log.approvals.select_related("site", "approved_by")
        ]

    def get_download(self, log) -> str | None:
        request = self.context.get("request")
        if log.status != ExportStatus.DONE or not log.file_name or request is None:
            return None
        if log.requested_by_id != request.user.pk:
            return None
        return request.build_absolute_uri(reverse("api:export-download", args=[log.pk]))


class ExportRequest(serializers.Serializer):
    study = serializers.SlugField()
    sites = serializers.ListField(
        child=serializers.SlugField(),
        required=False,
        default=list,
        help_text="Optional: every site of the study (an export always covers them all).",
    )
    cutoff = serializers.DateField(required=False)
    shift_dates = serializers.BooleanField(required=False, default=False)
    include_free_text = serializers.BooleanField(required=False, default=False)

    def validate_cutoff(self, value: date) -> date:
        if value > timezone.localdate():
            raise serializers.ValidationError(_("The cut-off cannot be in the future."))
        return value


class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Anonymised research exports (DOMAIN §9). Researchers POST a request for sites of a study
    they are linked to (another site: 404); small exports are built at once (201), large ones
    by a worker (202) and the researcher is emailed. Site administrators list their sites'
    exports. Only the requester downloads."""

    serializer_class = ExportLogSerializer
    lookup_value_regex = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

    def get_queryset(self):
        return research.visible_exports(self.request.user)

    @extend_schema(request=ExportRequest, responses={201: ExportLogSerializer})
    def create(self, request):
        incoming = ExportRequest(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if not research.studies_of(request.user).exists():
            raise PermissionDenied(_("Only researchers linked to a study can export."))
        try:
            study, sites = research.resolve(request.user, data["study"], data["sites"])
        except Http404:
            raise NotFound(_("No such study or site.")) from None
        except research.PartialSites:
            raise serializers.ValidationError(
                {"sites": [_("An export covers every site of the study; leave sites out.")]}
            ) from None
        log, queued = research.request_export(
            request.user,
            study,
            sites,
            data.get("cutoff") or timezone.localdate(),
            shift_dates=data["shift_dates"],
            include_free_text=data["include_free_text"],
            via="api",
            request=request,
        )
        body = ExportLogSerializer(log, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if queued else 201)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The zip, for its requester only."""
        log = research.downloadable(request.user).filter(pk=pk).first()
        path = research.export_dir() / log.file_name if log else None
        if path is None or not path.exists():
            raise NotFound(_("No such export."))
        research.record_download(log)
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=f"{log.study.code}-anonymised.zip",
            content_type="application/zip",
        )
