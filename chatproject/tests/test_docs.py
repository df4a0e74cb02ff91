"""The OpenAPI schema and the two docs pages, which must work offline."""

import json
import re
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.test import Client

from chats.models import Chat

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
        # Swagger UI's settings come from the page itself (`?script=`): no
        # inline script under the Content-Security-Policy.
        assert asset.startswith("/static/drf_spectacular_sidecar/") or asset == f"{page}?script=", asset
        served = client.get(asset)
        assert served.status_code == HTTPStatus.OK, asset
        body = b"".join(served.streaming_content) if served.streaming else served.content
        assert body, asset


def test_redoc_page_links_no_web_font(client):
    html = client.get("/redoc").content.decode()

    assert "fonts.googleapis.com" not in html
    assert "<redoc" in html


def test_schema_validates_without_warnings(tmp_path):
    # --fail-on-warn turns any warning into a non-zero exit (SystemExit).
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/v1/auth/login" in (tmp_path / "schema.yaml").read_text()


# --- what the schema says about each operation --------------------------------

ERRORS_BY_OPERATION = {
    "auth_register": {400, 405, 413, 415, 429, 503},
    "auth_login": {400, 401, 405, 413, 415, 429, 503},
    "auth_refresh": {400, 401, 405, 413, 415, 429, 503},
    "auth_logout": {400, 401, 405, 413, 415, 429, 503},
    "auth_me": {401, 405, 429, 503},
    "chats_create_chat": {400, 401, 405, 413, 415, 429, 502, 503, 504},
    "chats_get_chat": {400, 401, 404, 405, 413, 415, 429, 503},
    "chats_update_chat": {400, 401, 404, 405, 409, 413, 415, 429, 503},
    "chats_delete_chat": {400, 401, 404, 405, 413, 415, 429, 503},
    "chats_list_chats": {400, 401, 405, 429, 503},
    "messages_add_message": {400, 401, 404, 405, 409, 413, 415, 429, 502, 503, 504},
    "messages_regenerate": {400, 401, 404, 405, 409, 413, 415, 429, 502, 503, 504},
    "messages_stop_generation": {400, 401, 404, 405, 409, 413, 415, 429, 503},
    "messages_stream_message": {400, 401, 404, 405, 429, 503},
    "messages_get_messages": {400, 401, 404, 405, 413, 415, 429, 503},
    "branches_create_branch": {400, 401, 404, 405, 409, 413, 415, 429, 502, 503, 504},
    "branches_get_branches": {400, 401, 404, 405, 413, 415, 429, 503},
    "branches_set_active_branch": {400, 401, 404, 405, 409, 413, 415, 429, 503},
    "branches_rename_branch": {400, 401, 404, 405, 409, 413, 415, 429, 503},
    "branches_delete_branch": {400, 401, 404, 405, 409, 413, 415, 429, 503},
    "chats_export_chat": {400, 401, 404, 405, 413, 415, 429, 503},
    "chats_import_chats": {400, 401, 405, 413, 415, 429, 503},
    "search_search_messages": {400, 401, 404, 405, 429, 503},
    "shares_create_share": {400, 401, 404, 405, 409, 413, 415, 429, 503},
    "shares_list_shares": {400, 401, 404, 405, 429, 503},
    "shares_delete_share": {400, 401, 404, 405, 413, 415, 429, 503},
    "shares_fork_shared": {400, 401, 404, 405, 413, 415, 429, 503},
    "shared_get_shared": {400, 404, 405, 429, 503},
    "health": {405, 503},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_operations_are_grouped_by_resource_with_summary_and_description(schema):
    assert [tag["name"] for tag in schema["tags"]] == ["auth", "chats", "messages", "branches", "search", "shares", "health"]
    for path, method, operation in operations(schema):
        resource = "health" if path == "/health" else path.split("/")[3]
        resource = {"shared": "shares"}.get(resource, resource)  # get-shared: a share, read by anyone
        assert operation["tags"] == [resource], (method, path)
        assert operation["summary"] and operation["description"], (method, path)


def test_each_operation_documents_the_errors_it_can_return(schema):
    documented = {
        operation["operationId"]: {int(status) for status in operation["responses"] if int(status) >= 400}
        for _, _, operation in operations(schema)
    }
    assert documented == ERRORS_BY_OPERATION


def test_every_documented_error_has_examples_in_the_error_shape(schema):
    components = schema["components"]["schemas"]
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) < 400 or path == "/health":
                continue
            content = response["content"]["application/json"]
            assert content["schema"] == {"$ref": f"#/components/schemas/Error{status}"}
            error_schema = components[f"Error{status}"]["properties"]
            examples = [example["value"] for example in content["examples"].values()]
            assert examples, (method, path, status)
            for body in examples:
                assert set(body) == {"type", "errors"}
                assert body["type"] in error_schema["type"]["enum"], (method, path, status)
                for item in body["errors"]:
                    assert set(item) == {"code", "detail", "attr"}
                    assert item["code"] in error_schema["errors"]["items"]["properties"]["code"].get("enum", [item["code"]])


def test_conflicts_name_their_codes(schema):
    conflicts = {
        operation["operationId"]: [
            example["value"]["errors"][0]["code"]
            for example in operation["responses"]["409"]["content"]["application/json"]["examples"].values()
        ]
        for _, _, operation in operations(schema)
        if "409" in operation["responses"]
    }
    assert conflicts == {
        "chats_update_chat": ["chat_locked"],
        "messages_add_message": ["chat_locked", "generation_in_progress"],
        "messages_regenerate": ["chat_locked"],
        "messages_stop_generation": ["chat_locked"],
        "branches_create_branch": ["chat_locked"],
        "branches_set_active_branch": ["chat_locked"],
        "branches_rename_branch": ["chat_locked"],
        "branches_delete_branch": ["chat_locked", "root_branch", "branch_has_children"],
        "shares_create_share": ["share_limit"],
    }


def test_models_come_first_and_the_error_schemas_after_them(schema):
    names = list(schema["components"]["schemas"])
    errors = [name for name in names if name.startswith("Error")]
    assert errors == [f"Error{status}" for status in (400, 401, 404, 405, 409, 413, 415, 429, 502, 503, 504)]
    assert names[-len(errors):] == errors
    # The model components stay few (drf-spectacular splits a shape it sees
    # twice into two components when their names differ): 49 with search
    # and shares.
    assert len(names) - len(errors) <= 49


def test_samples_look_like_real_data(schema):
    text = json.dumps(schema)
    assert "example.org" not in text and "2019-" not in text
    chat = schema["components"]["schemas"]["ChatOutput"]["properties"]
    assert chat["title"]["example"] == "Two days in Lisbon"
    assert chat["updated_at"]["example"].startswith("2026-")
    page = schema["components"]["schemas"]["PaginatedChatOutputList"]["properties"]
    assert page["next"]["example"].startswith("http://localhost:8000/api/v1/chats/list-chats?cursor=")
    # A request sample carries no made-up optional id (Swagger UI would send it).
    assert schema["components"]["schemas"]["MessageAddInputRequest"]["example"] == {
        "chat_id": "6f1c2a4e-93b5-4d7e-8a0c-2b9e5d3f7a14",
        "question": "What should I see in Lisbon in two days?",
        "response": "Day one: Alfama, the castle and a tram 28 ride; day two: Belém and the LX Factory.",
    }


def test_parameters_say_their_defaults_and_caps(schema):
    def parameter(path, name):
        operation = schema["paths"][path]["get"]
        return next(p for p in operation["parameters"] if p["name"] == name)

    limit = parameter("/api/v1/chats/get-chat", "limit")
    page_size = parameter("/api/v1/chats/list-chats", "page_size")
    assert (limit["schema"]["default"], limit["description"]) == (
        100,
        "How many pairs: default 100; above 1000 is read as 1000.",
    )
    assert (page_size["schema"]["default"], page_size["description"]) == (
        20,
        "Chats per page: default 20; above 100 is read as 100.",
    )
    assert "example" not in parameter("/api/v1/chats/get-chat", "branch_id")


@pytest.mark.django_db
def test_error_examples_match_what_the_api_answers(schema, user):
    from chatproject.testing import client_for
    from chats.tests.factories import ChatFactory

    def examples(path, method, status):
        content = schema["paths"][path][method]["responses"][status]["content"]["application/json"]
        return [example["value"] for example in content["examples"].values()]

    api = client_for(user)
    locked = ChatFactory(owner=user)
    Chat.objects.filter(pk=locked.pk).update(locked=True)
    unknown = api.get("/api/v1/chats/get-chat", {"chat_id": "6f1c2a4e-93b5-4d7e-8a0c-2b9e5d3f7a14"})
    wrong_method = api.post("/api/v1/chats/get-chat")
    conflict = api.put("/api/v1/chats/update-chat", {"chat_id": str(locked.pk), "title": "t"}, format="json")
    anonymous = Client().get("/api/v1/auth/me")

    assert unknown.json() == examples("/api/v1/chats/get-chat", "get", "404")[0]
    assert wrong_method.json() == examples("/api/v1/chats/get-chat", "get", "405")[0]
    assert conflict.json() == examples("/api/v1/chats/update-chat", "put", "409")[0]
    assert anonymous.json() == examples("/api/v1/auth/me", "get", "401")[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/api/v1/chats/get-chat", "GET, HEAD"),
        ("get", "/api/v1/auth/me", "GET, HEAD"),
        ("post", "/api/v1/chats/create-chat", "POST"),
        ("put", "/api/v1/branches/rename-branch", "PUT"),
        ("delete", "/api/v1/branches/delete-branch", "DELETE"),
    ],
)
def test_allow_lists_exactly_what_the_route_accepts(auth_client, method, path, allowed):
    answered = getattr(auth_client, method)(path)
    options = auth_client.options(path)

    assert answered["Allow"] == allowed
    assert options.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert options["Allow"] == allowed
    assert options.json() == {
        "type": "client_error",
        "errors": [{"code": "method_not_allowed", "detail": 'Method "OPTIONS" not allowed.', "attr": None}],
    }


def test_redoc_page_keeps_images_on_this_host(client):
    # The footer logo comes from ReDoc's bundle, not from this HTML; the page
    # rewrites any image address on another host before the browser loads it
    # (the browser tests check the requests themselves).
    html = client.get("/redoc").content.decode()

    assert "url.origin === window.location.origin ? value : EMPTY" in html
    assert html.index("HTMLImageElement") < html.index("redoc.standalone.js")
