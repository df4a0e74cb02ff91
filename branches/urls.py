from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import BranchViewSet, RegenerateViewSet

router = SimpleRouter(trailing_slash=False)
router.register("branches", BranchViewSet, basename="branches")

urlpatterns = [
    *router.urls,
    path("messages/regenerate", RegenerateViewSet.as_view({"post": "regenerate"}), name="messages-regenerate"),
]
