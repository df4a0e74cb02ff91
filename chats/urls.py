from rest_framework.routers import SimpleRouter

from .views import ChatViewSet, MessageViewSet

router = SimpleRouter(trailing_slash=False)
router.register("chats", ChatViewSet, basename="chats")
router.register("messages", MessageViewSet, basename="messages")

urlpatterns = router.urls
