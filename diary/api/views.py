import logging
from decimal import Decimal

import django_filters
from django.db import DatabaseError
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from diary import recording
from diary.access import LogsAccess
from diary.api.filters import ChildFilter, StrictFilterSet, filterset_for
from diary.api.serializers import (
    ChildSerializer,
    DayIn,
    DayOut,
    DoseIn,
    DoseOut,
    EntryIn,
    EntryOut,
    GrowthIn,
    GrowthOut,
    InstrumentOut,
    SteroidIn,
    SteroidOut,
)
from diary.models import Child, DiaryEntry, DoseAdministration, GrowthMeasurement, SteroidDose

logger = logging.getLogger(__name__)


class IsClinicianOrReadOnly(permissions.BasePermission):
    """Writes are for the child's clinicians. Objects are looked up first, so a stranger
    gets 404 and only a linked caregiver learns that the change is refused (403)."""

    message = "Only the child's clinicians can register or change a child."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or view.kwargs.get("pk"):
            return True
        return request.user.is_clinician

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return Child.objects.managed_by(request.user).filter(pk=obj.pk).exists()


class NoDeleteViewSet(
    LogsAccess,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read (logged), create and change; nothing is deleted through the API."""


class ChildViewSet(NoDeleteViewSet):
    """Children the caller may see. Clinicians register and update their sites' children."""

    serializer_class = ChildSerializer
    permission_classes = [permissions.IsAuthenticated, IsClinicianOrReadOnly]
    filterset_class = ChildFilter

    def get_queryset(self):
        return Child.objects.visible_to(self.request.user).select_related("site")

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    @extend_schema(responses=InstrumentOut)
    @action(detail=True, methods=["get"])
    def instrument(self, request, pk=None):
        """The child's diary: items, score ranges and the wording of every score."""
        return Response(InstrumentOut(self.get_object().get_instrument()).data)


class RecordFilter(StrictFilterSet):
    date = django_filters.DateFromToRangeFilter(
        help_text="Filter with date_after and date_before (YYYY-MM-DD, inclusive)."
    )


def _nested(errors: dict[str, str]) -> dict:
    """{"scores.fever": msg} → {"scores": {"fever": [msg]}}, the way DRF nests field errors."""
    out: dict = {}
    for key, message in errors.items():
        head, dot, tail = key.partition(".")
        if dot:  # even an empty item key ("scores." for a score named ""): found by fuzzing
            out.setdefault(head, {})[tail] = [message]
        else:
            out[head] = [message]
    return out


def _as_input(row, serializer_class) -> dict:
    """ROW in the input shape, so that a PATCH changes only what it names."""
    out = {}
    for name in serializer_class().fields:
        if name not in ("id", "child", "date", "version"):
            value = getattr(row, name, None)
            out[name] = str(value) if isinstance(value, Decimal) else value
    return out


class ConflictOut(serializers.Serializer):
    detail = serializers.CharField()
    current = serializers.DictField(help_text="The row as stored now.")


def change_of(incoming):
    """The body of a PUT/PATCH: the row's id, child and date come from the URL and the row."""
    fields = {
        "id": None,
        "child": None,
        "date": None,
        "version": serializers.IntegerField(
            min_value=1, help_text="The version the change was made against."
        ),
    }
    return type(incoming.__name__.removesuffix("In") + "Change", (incoming,), fields)


def record_schema(incoming, outgoing):
    change = change_of(incoming)
    errors = {
        400: OpenApiResponse(description="Field errors"),
        404: OpenApiResponse(description="No such child or row for this user"),
        409: ConflictOut,
        503: OpenApiResponse(description="Nothing was stored: send the same request again"),
    }
    return extend_schema_view(
        create=extend_schema(request=incoming, responses={201: outgoing, 200: outgoing, **errors}),
        update=extend_schema(request=change, responses={200: outgoing, **errors}),
        partial_update=extend_schema(request=change, responses={200: outgoing, **errors}),
    )


class RecordViewSet(
    LogsAccess, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Rows a family records. A create is idempotent on the client's `id` (a replay returns
    the stored row with 200); a change names the `version` it was made against and gets 409
    with the stored row when someone saved after it. Nothing is deleted."""

    serializer_class: type  # the row as stored (its Meta names the model)
    input_serializer: type
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    lookup_value_converter = "uuid"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        record_schema(cls.input_serializer, cls.serializer_class)(cls)

    @property
    def model(self):
        return self.serializer_class.Meta.model

    def get_queryset(self):
        return (
            self.model.objects.visible_to(self.request.user)
            .select_related("reported_by")
            .order_by("-date", "created")
        )

    @property
    def filterset_class(self):
        return filterset_for(self.model, "date", base=RecordFilter)

    def _child(self, child_id: int) -> Child:
        try:
            return Child.objects.visible_to(self.request.user).get(pk=child_id)
        except Child.DoesNotExist:
            raise NotFound(_("No such child.")) from None

    def _record(self, data: dict, base_version):
        child = self._child(data.pop("child"))
        row_id, day = data.pop("id"), data.pop("date")
        data.pop("version", None)
        try:
            saved = recording.record(
                self.model, child, self.request.user, row_id, day, data, base_version
            )
        except recording.Invalid as invalid:
            return Response(_nested(invalid.errors), status=status.HTTP_400_BAD_REQUEST)
        except recording.Conflict as conflict:
            body = {
                "detail": _("Someone else saved this after the version you started from."),
                "current": self.get_serializer(conflict.current).data,
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        except DatabaseError:
            # The save is one transaction: nothing of it was stored, and the same id is safe
            # to send again.
            logger.exception("saving a %s failed", self.model._meta.model_name)
            return Response(
                {"detail": str(recording.NOT_SAVED)},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "30"},
            )
        code = status.HTTP_201_CREATED if saved.created else status.HTTP_200_OK
        return Response(self.get_serializer(saved.row).data, status=code)

    def create(self, request, *args, **kwargs):
        incoming = self.input_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return self._record(dict(incoming.validated_data), base_version=None)

    def update(self, request, *args, **kwargs):
        row = self.get_object()
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        if "version" not in request.data:
            return Response(
                {"version": [_("Give the version your change was made against.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        # PATCH changes what it names; PUT sends the whole row, as the schema says.
        current = _as_input(row, self.input_serializer) if kwargs.get("partial") else {}
        merged = {**current, **request.data}
        merged.update(id=str(row.pk), child=row.child_id, date=row.date.isoformat())
        incoming = self.input_serializer(data=merged)
        incoming.is_valid(raise_exception=True)
        return self._record(dict(incoming.validated_data), incoming.validated_data["version"])

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


class EntryViewSet(RecordViewSet):
    serializer_class = EntryOut
    input_serializer = EntryIn


class DoseViewSet(RecordViewSet):
    serializer_class = DoseOut
    input_serializer = DoseIn


class SteroidViewSet(RecordViewSet):
    serializer_class = SteroidOut
    input_serializer = SteroidIn


class GrowthViewSet(RecordViewSet):
    serializer_class = GrowthOut
    input_serializer = GrowthIn


class DayConflictOut(serializers.Serializer):
    detail = serializers.CharField()
    conflicts = serializers.ListField(
        child=serializers.DictField(),
        help_text='Each conflicting part ("entry", "doses.0", …) with its row as stored now.',
    )
    day = DayOut(help_text="The day as stored now: nothing of the request was saved.")


def stored_day(child: Child, day, rows: dict | None = None) -> dict:
    """The day as it is stored (ROWS: the day's rows by model, when known), as DayOut."""
    if rows is None:
        rows = {
            model: model.objects.filter(child=child, date=day)
            .select_related("reported_by")
            .order_by("created")
            for model in recording.DAY_MODELS
        }

    def out(model):
        return [_row_out(row) for row in rows[model]]

    entry, growth = out(DiaryEntry), out(GrowthMeasurement)
    return {
        "child": child.pk,
        "date": day.isoformat(),
        "entry": entry[0] if entry else None,
        "doses": out(DoseAdministration),
        "steroids": out(SteroidDose),
        "growth": growth[0] if growth else None,
    }


def _day_errors(errors: dict[str, str], sizes: dict[str, int]) -> dict:
    """Flat "doses.1.given_mg" errors nested as DRF nests them (lists for the list parts)."""
    nested = _nested_path(errors)
    for name, size in sizes.items():
        if name in nested:
            rows = nested[name]
            nested[name] = [rows.get(str(i), {}) for i in range(size)]
    return nested


def _nested_path(errors: dict[str, str]) -> dict:
    out: dict = {}
    for key, message in errors.items():
        *heads, last = key.split(".")
        node = out
        for head in heads:
            node = node.setdefault(head, {})
        node[last] = [message]
    return out


class DayView(APIView):
    """Save a whole day of a child's diary in one request, all or nothing.

    The body holds the entry, every dose slot, steroid doses and growth of one day, each row with
    its client-made `id` (and, for a change, the `version` it was made against). One bad field
    anywhere: 400 naming every bad field, and nothing of the day is stored or changed. A row's
    `id` sent again with the same content: 200 with the stored day. The same `id` with other
    content, or a change against an older version: 409 with the rows as stored, nothing saved.
    """

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=DayIn,
        responses={
            201: DayOut,
            200: DayOut,
            400: OpenApiResponse(description="Field errors; nothing was stored"),
            404: OpenApiResponse(description="No such child for this user"),
            409: DayConflictOut,
            503: OpenApiResponse(description="Nothing was stored: send the same request again"),
        },
    )
    def post(self, request):
        incoming = DayIn(data=request.data)
        if not incoming.is_valid():
            return Response(
                {"detail": _("Nothing was saved."), **incoming.errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        data = incoming.validated_data
        try:
            child = Child.objects.visible_to(request.user).get(pk=data["child"])
        except Child.DoesNotExist:
            raise NotFound(_("No such child.")) from None
        parts = recording.day_parts(
            data.get("entry"), data.get("doses"), data.get("steroids"), data.get("growth")
        )
        try:
            saved = recording.record_day(child, request.user, data["date"], parts)
        except recording.Invalid as invalid:
            sizes = {
                "doses": len(data.get("doses") or []),
                "steroids": len(data.get("steroids") or []),
            }
            body = {"detail": _("Nothing was saved."), **_day_errors(invalid.errors, sizes)}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        except recording.DayConflict as conflict:
            logger.info(
                "day %s of child %s not saved: %s changed since",
                data["date"],
                child.pk,
                ", ".join(where for where, _row in conflict.conflicts),
            )
            body = {
                "detail": _("Someone else saved this day after the version you started from."),
                "conflicts": [
                    {"part": where, "current": _row_out(row)} for where, row in conflict.conflicts
                ],
                "day": stored_day(child, data["date"]),
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        except DatabaseError:
            logger.exception("saving a diary day failed")
            return Response(
                {"detail": str(recording.NOT_SAVED)},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "30"},
            )
        code = status.HTTP_201_CREATED if saved.created else status.HTTP_200_OK
        return Response(stored_day(child, data["date"], saved.rows), status=code)


# One bound serializer per model, reused: building a ModelSerializer's fields costs more than
# writing a row with them, and a day answers with several rows on every save.
_OUT = {
    DiaryEntry: EntryOut(),
    DoseAdministration: DoseOut(),
    SteroidDose: SteroidOut(),
    GrowthMeasurement: GrowthOut(),
}


def _row_out(row) -> dict:
    return _OUT[type(row)].to_representation(row)
