from rest_framework.routers import SimpleRouter

from .views import BranchViewSet

router = SimpleRouter(trailing_slash=False)
router.register("branches", BranchViewSet, basename="branches")

urlpatterns = router.urls
