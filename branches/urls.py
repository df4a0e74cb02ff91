from chatproject.api.routers import ApiRouter

from .views import BranchViewSet

router = ApiRouter()
router.register("branches", BranchViewSet, basename="branches")

urlpatterns = router.urls
