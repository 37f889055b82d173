from rest_framework.routers import DefaultRouter

from diary.api.assessments import VisitAssessmentViewSet
from diary.api.views import (
    ChildViewSet,
    DoseViewSet,
    EntryViewSet,
    GrowthViewSet,
    SteroidViewSet,
)
from outcomes.api.exports import ExportViewSet
from outcomes.api.views import LabResultViewSet, MedicineViewSet, PrescriptionViewSet

router = DefaultRouter()
router.register("children", ChildViewSet, basename="child")
router.register("entries", EntryViewSet, basename="entry")
router.register("doses", DoseViewSet, basename="dose")
router.register("steroids", SteroidViewSet, basename="steroid")
router.register("growth", GrowthViewSet, basename="growth")
router.register("prescriptions", PrescriptionViewSet, basename="prescription")
router.register("labs", LabResultViewSet, basename="lab")
router.register("medicines", MedicineViewSet, basename="medicine")
router.register("assessments", VisitAssessmentViewSet, basename="assessment")
router.register("exports", ExportViewSet, basename="export")

app_name = "api"
urlpatterns = router.urls
