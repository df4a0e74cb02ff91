from chatproject.api.routers import ApiRouter

from .views import TransferViewSet

router = ApiRouter()
# Chat routes of their own: `chats/export-chat`, `chats/import-chats`.
router.register("chats", TransferViewSet, basename="chats")

urlpatterns = router.urls
