from chatproject.api.routers import ApiRouter

from .views import BranchViewSet, RegenerateViewSet

router = ApiRouter()
router.register("branches", BranchViewSet, basename="branches")
# A message route that makes a branch: `messages/regenerate`.
router.register("messages", RegenerateViewSet, basename="messages")

urlpatterns = router.urls
