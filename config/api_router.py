from rest_framework.routers import DefaultRouter

from diary.api.views import ChildViewSet

router = DefaultRouter()
router.register("children", ChildViewSet, basename="child")

app_name = "api"
urlpatterns = router.urls
