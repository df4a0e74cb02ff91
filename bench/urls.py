"""The service's routes plus the constant-JSON baseline view."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

CONSTANT = {"status": "ok", "items": [1, 2, 3]}


class ConstantView(APIView):
    """Authenticated, throttled and rendered like every route of the API
    (the project's DRF defaults), but doing no work of its own."""

    def get(self, request):
        return Response(CONSTANT)


urlpatterns = [
    path("bench/constant", ConstantView.as_view(), name="bench-constant"),
    path("", include("chatproject.urls")),
]
