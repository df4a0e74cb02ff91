"""A URLconf with a view that fails unexpectedly, for the 500 tests."""

from django.urls import include, path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny


@api_view(["GET"])
@permission_classes([AllowAny])
def boom(request):
    raise RuntimeError("unexpected failure with a secret inside")


urlpatterns = [
    path("api/v1/boom", boom),
    path("", include("chatproject.urls")),
]
