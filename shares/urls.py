from chatproject.api.routers import ApiRouter

from .views import SharedViewSet, ShareViewSet

router = ApiRouter()
router.register("shares", ShareViewSet, basename="shares")
router.register("shared", SharedViewSet, basename="shared")

urlpatterns = router.urls
