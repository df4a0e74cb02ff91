from chatproject.api.routers import ApiRouter

from .views import ChatViewSet, MessageViewSet

router = ApiRouter()
router.register("chats", ChatViewSet, basename="chats")
router.register("messages", MessageViewSet, basename="messages")

urlpatterns = router.urls
