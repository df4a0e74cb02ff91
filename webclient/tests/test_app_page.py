"""The client's page and files as Django serves them: at /app/, linked from
the site root, with a Content-Security-Policy that allows this origin only,
no inline code, and modules that production can serve under hashed names."""

import re
from html.parser import HTMLParser
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.management import call_command

APP = "/app/"
STATIC = Path(__file__).resolve().parent.parent / "static" / "webclient"
MODULES = sorted(STATIC.rglob("*.js"))
CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "object-src": ["'none'"],
}


def policy(header):
    """A Content-Security-Policy header as {directive: sources} (django-csp
    does not keep the directives' order)."""
    return {name: sources for name, *sources in (part.split() for part in header.split(";"))}


class PageParser(HTMLParser):
    """What of a page could run code or load from elsewhere."""

    def __init__(self):
        super().__init__()
        self.scripts, self.styles, self.inline, self.urls, self.body = [], 0, [], [], {}
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        if tag == "style":
            self.styles += 1
        if tag == "body":
            self.body = attributes
        self.inline += [f"{tag} {name}" for name in attributes if name == "style" or name.startswith("on")]
        self.urls += [attributes[name] for name in ("src", "href", "action") if name in attributes]

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(f"script text {data.strip()[:40]!r}")


def parsed(response):
    parser = PageParser()
    parser.feed(response.content.decode())
    return parser


def test_the_page_is_served_with_its_content_security_policy(client):
    response = client.get(APP)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert policy(response["Content-Security-Policy"]) == CSP
    assert response["X-Frame-Options"] == "DENY"


def test_the_page_has_no_inline_code_and_names_only_this_origin(client):
    page = parsed(client.get(APP))

    assert page.scripts == [{"type": "module", "src": "/static/webclient/main.js"}]
    assert (page.styles, page.inline) == (0, [])
    assert [url for url in page.urls if not url.startswith("/") or url.startswith("//")] == []
    assert page.body == {"data-api-root": "/api/v1/"}


def test_the_page_answers_get_and_head_only(client):
    assert client.head(APP).status_code == HTTPStatus.OK
    assert client.post(APP).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.get("/app").status_code == HTTPStatus.MOVED_PERMANENTLY  # to /app/


def test_the_site_root_links_the_client(client):
    assert '<a href="/app/">' in client.get("/").content.decode()


@pytest.mark.parametrize("path", [p.relative_to(STATIC).as_posix() for p in [*MODULES, STATIC / "app.css"]])
def test_the_client_files_are_served(client, path):
    response = client.get(f"/static/webclient/{path}")

    assert response.status_code == HTTPStatus.OK
    expected = "text/css" if path.endswith(".css") else "text/javascript"
    assert response["Content-Type"].split(";")[0] == expected
    b"".join(response.streaming_content)


IMPORT = re.compile(r"""^(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["'](;?)""", re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.relative_to(STATIC).as_posix())
def test_modules_import_files_by_relative_path_ending_with_a_semicolon(module):
    # Django rewrites `import … from "./x.js";` to hashed names only in that form.
    source = module.read_text()
    imports = IMPORT.findall(source)

    assert [(path, end) for path, end in imports if not path.startswith(("./", "../")) or end != ";"] == []
    for path, _ in imports:
        assert (module.parent / path).resolve().is_file(), path
    assert source.count("import ") == len(imports) + source.count("import(")


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.relative_to(STATIC).as_posix())
def test_modules_never_write_html(module):
    # Text goes into the page as text nodes only; nothing a message holds can become markup.
    source = module.read_text()

    assert re.findall(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function", source) == []


def test_production_storage_rewrites_module_imports_to_hashed_names(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "chatproject.staticfiles.StaticFilesStorage"}}

    call_command(
        "collectstatic", "--noinput", "--verbosity=0",
        "--ignore=admin", "--ignore=rest_framework", "--ignore=drf_spectacular*",
    )  # fmt: skip

    collected = tmp_path / "webclient"
    hashed = [p for p in collected.rglob("*.js") if re.search(r"\.[0-9a-f]{12}\.js$", p.name)]
    assert len(hashed) == len(MODULES)
    for module in hashed:
        for path, _ in IMPORT.findall(module.read_text()):
            assert re.search(r"\.[0-9a-f]{12}\.js$", path), f"{module.name} imports {path}"
            assert (module.parent / path).resolve().is_file(), path
