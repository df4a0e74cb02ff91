"""The OpenAPI schema and the two docs pages, which must work offline."""

import re
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.test import Client

URL_ATTRIBUTE = re.compile(r'(?:src|href)="([^"]+)"')
ABSOLUTE_URL = re.compile(r"(?:https?:)?//[\w.-]+")


def test_schema_lists_the_auth_routes(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == HTTPStatus.OK
    paths = response.json()["paths"]
    assert {
        "/api/v1/auth/register": {"post"},
        "/api/v1/auth/login": {"post"},
        "/api/v1/auth/refresh": {"post"},
        "/api/v1/auth/logout": {"post"},
        "/api/v1/auth/me": {"get"},
    }.items() <= {path: set(operations) for path, operations in paths.items()}.items()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets_with_debug_off(page, settings):
    assert settings.DEBUG is False
    client = Client()

    response = client.get(page)

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert ABSOLUTE_URL.findall(html) == []
    assets = URL_ATTRIBUTE.findall(html)
    assert assets, "the page should load its scripts"
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/")
        served = client.get(asset)
        assert served.status_code == HTTPStatus.OK, asset
        assert b"".join(served.streaming_content), asset


def test_redoc_page_links_no_web_font(client):
    html = client.get("/redoc").content.decode()

    assert "fonts.googleapis.com" not in html
    assert "<redoc" in html


def test_schema_validates_without_warnings(tmp_path):
    # --fail-on-warn turns any warning into a non-zero exit (SystemExit).
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/v1/auth/login" in (tmp_path / "schema.yaml").read_text()
