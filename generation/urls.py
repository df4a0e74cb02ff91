from chatproject.api.routers import ApiRouter

from .views import GenerationViewSet

router = ApiRouter()
# Message routes of their own: `messages/regenerate`, `stop-generation`, `stream-message`.
router.register("messages", GenerationViewSet, basename="messages")

urlpatterns = router.urls
