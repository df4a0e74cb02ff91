from chatproject.api.routers import ApiRouter

from .views import AuthViewSet

router = ApiRouter()
router.register("auth", AuthViewSet, basename="auth")

urlpatterns = router.urls
