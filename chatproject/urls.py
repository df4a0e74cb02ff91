from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from chatproject import pages
from chatproject.api.health import HealthView
from chatproject.api.schema import SchemaView
from chatproject.api.views import not_found
from shares.views import shared_page

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("chats.urls")),
    path("", include("branches.urls")),
    path("", include("generation.urls")),
    path("", include("transfer.urls")),
    path("", include("search.urls")),
    path("", include("shares.urls")),
]

urlpatterns = [
    # A small page linking the docs, the admin and /health (also the admin's "View site").
    path("", pages.home, name="home"),
    path("favicon.ico", pages.favicon),
    # The reference chat client (webclient/): a page that uses only the API.
    path("app/", include("webclient.urls")),
    # A shared conversation, for a person with the link (shares/).
    path("s/<str:token>", shared_page, name="shared-page"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    # Split: Swagger UI's settings come as a script of their own, not inline (CSP).
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("health", HealthView.as_view(), name="health"),
    path("admin/", admin.site.urls),
    # Unknown API paths answer JSON whatever DEBUG says (handler404 only runs
    # with DEBUG off).
    re_path(r"^api/", not_found),
]

handler400 = "chatproject.api.views.bad_request"
handler404 = "chatproject.api.views.not_found"
handler500 = "chatproject.api.views.server_error"
