from rest_framework import mixins, permissions, viewsets

from diary.api.serializers import ChildSerializer
from diary.models import Child


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


class ChildViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Children the caller may see. Clinicians register and update their sites' children."""

    serializer_class = ChildSerializer
    permission_classes = [permissions.IsAuthenticated, IsClinicianOrReadOnly]
    filterset_fields = ["site__code", "diagnosis"]

    def get_queryset(self):
        return Child.objects.visible_to(self.request.user).select_related("site")

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)
