"""Property-based fuzzing of the whole API against its own OpenAPI schema.

Schemathesis loads the schema the app serves at `/api/schema/` and, for every
operation, sends in-process through the WSGI application: the deterministic
coverage cases (boundary values, wrong types, missing fields and
credentials, other methods), then `MAX_EXAMPLES` fuzzed requests, valid and
invalid. Every response must

- not be a server error,
- have a status code, headers, a content type and a body the schema documents,
- not be a 2xx without credentials on an operation that requires them,
- under /api/, when the status is 400 or more, be JSON in the API's error
  shape `{"type": str, "errors": [{"code": str, "detail": str, "attr": str | null}, ...]}`.

Two users take part. Each case is sent by one of them (mostly the first) and
the ids it carries (`chat_id`, `branch_id`, `response_id`, `before`) are often
swapped for real ones: the sender's own chat, branches and pairs, a locked or
a hidden chat of theirs, or the other user's, so requests get past the 404
of a random UUID. Login, refresh and logout get a real password or refresh
token now and then. The choice is derived from the generated case and the
run has a fixed seed, so a failure in CI replays the same way locally.

A deviation that is accepted rather than fixed goes in `fuzzing_baseline.json`
with its reason. To list every failure of the run instead of stopping at the
first one per operation, set `API_FUZZING_REPORT` to a file: each failure is
written there as a JSON line and the affected tests error at teardown.
"""

import json
import os
import random
import re
from pathlib import Path

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import providers as hypothesis_providers
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tests.factories import PASSWORD, UserFactory
from branches import services as branch_services
from chats import services as chat_services
from chats.models import Branch, Chat, ChatStatus
from chats.services import Moderation

SEED = 20261125
MAX_EXAMPLES = 50
BASELINE_PATH = Path(__file__).with_name("fuzzing_baseline.json")
REPORT_PATH = os.environ.get("API_FUZZING_REPORT")

# Requests go through the real WSGI handler, whose request_finished signal
# closes the database connection: that only works outside the test
# transaction. Committing for real also runs PostgreSQL's deferred
# constraint checks, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        # No link-following state machine: the id swapping below gives the
        # requests real objects to work on.
        "phases": {"stateful": {"enabled": False}},
        # Generated values depend on the seed and the schema only, not on the
        # string constants of whatever the app's source holds today.
        "analysis": {"constants": {"enabled": False}},
    }
)

APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP, config=CONFIG)


# --- the error shape -------------------------------------------------------


def _content_type(response):
    value = response.headers.get("content-type", [""])
    value = value[0] if isinstance(value, list) and value else value
    return (value or "").split(";")[0].strip().lower()


def error_body_shape(ctx, response, case):
    """Every 4xx/5xx under /api/ is JSON: {"type", "errors": [{"code", "detail", "attr"}]}."""
    if response.status_code < 400 or not case.path.startswith("/api/"):
        return None
    if _content_type(response) != "application/json":
        raise AssertionError(f"Error response with Content-Type {_content_type(response)!r}, not application/json")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError("Error response body is not valid JSON") from None
    problems = []
    if not isinstance(body, dict) or set(body) != {"type", "errors"}:
        problems.append("it is not an object with exactly `type` and `errors`")
    else:
        if not isinstance(body["type"], str):
            problems.append("`type` is not a string")
        errors = body["errors"]
        if not isinstance(errors, list) or not errors:
            problems.append("`errors` is not a non-empty list")
        else:
            for item in errors:
                if not isinstance(item, dict) or set(item) != {"code", "detail", "attr"}:
                    problems.append(f"{item!r} does not have exactly `code`, `detail` and `attr`")
                elif not (
                    isinstance(item["code"], str)
                    and isinstance(item["detail"], str)
                    and (item["attr"] is None or isinstance(item["attr"], str))
                ):
                    problems.append(f"{item!r}: `code` and `detail` must be strings, `attr` a string or null")
    if problems:
        raise AssertionError(f"Error body is not in the API's error shape: {'; '.join(problems)}\n{body!r}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
    error_body_shape,
]


# --- the baseline ----------------------------------------------------------


def load_baseline(path=BASELINE_PATH):
    """Accepted deviations: each names the operation ("*" for all) and a reason,
    and may narrow itself by `status`, `failure` (the Schemathesis failure
    class) and `match` (a regular expression searched in the failure's text).
    """
    entries = json.loads(path.read_text()).get("entries", []) if path.exists() else []
    for entry in entries:
        unknown = set(entry) - {"operation", "status", "failure", "match", "reason"}
        assert not unknown, f"baseline entry {entry!r}: unknown keys {sorted(unknown)}"
        assert isinstance(entry.get("operation"), str), f"baseline entry {entry!r} names no operation"
        assert str(entry.get("reason", "")).strip(), f"baseline entry {entry!r} gives no reason"
        re.compile(entry.get("match", ""))
    return entries


BASELINE = load_baseline()


def in_baseline(failure, operation, status):
    text = f"{failure.title}\n{failure.message}"
    return any(
        entry["operation"] in ("*", operation)
        and entry.get("status", status) == status
        and entry.get("failure", type(failure).__name__) == type(failure).__name__
        and re.search(entry.get("match", ""), text)
        for entry in BASELINE
    )


REPORTED = []


@schema.hook
def filter_failure(context, failure, case, response):
    if in_baseline(failure, case.operation.label, response.status_code):
        return False
    if REPORT_PATH:
        record = {
            "operation": case.operation.label,
            "failure": type(failure).__name__,
            "title": failure.title,
            "message": failure.message[:2000],
            "request": {"method": case.method, "query": case.query, "body": case.body},
            "status": response.status_code,
            "response": response.content[:1000].decode("utf-8", "replace"),
        }
        with open(REPORT_PATH, "a", encoding="utf-8") as report:
            report.write(json.dumps(record, default=repr) + "\n")
        REPORTED.append(record)
        return False
    return True


# --- two users and their data ---------------------------------------------

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
ID_KINDS = {"chat_id": "chat", "branch_id": "branch", "response_id": "pair", "before": "pair"}
SCENARIOS = {"own": 50, "own-locked": 8, "own-hidden": 5, "other-users": 17, "mixed": 10, "as-generated": 10}
# Cases are generated (the coverage ones at collection) before the users
# exist: they carry this placeholder, which `World.personalize` replaces.
TOKEN_PLACEHOLDER = "fuzzing-user-token"


@schema.auth(refresh_interval=None)
class UserToken:
    def get(self, case, context):
        return TOKEN_PLACEHOLDER

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


class World:
    """Two users, each with a chat of two branches and three pairs, the first
    user also with a locked and a hidden one; rebuilt when a request deleted
    part of it."""

    def __init__(self):
        self.users = [UserFactory(), UserFactory()]
        self.tokens = [str(AccessToken.for_user(user)) for user in self.users]
        self.chats = {}  # (user index, label) -> {"chat": [id], "branch": [ids], "pair": [ids]}
        self.build()

    def build(self):
        for index, user in enumerate(self.users):
            self.chats[index, "main"] = self._chat(user)
        for status, action in ((ChatStatus.LOCKED, Moderation.LOCK), (ChatStatus.HIDDEN, Moderation.HIDE)):
            ids = self._chat(self.users[0])
            chat_services.chat_moderate(chat_id=ids["chat"][0], action=action)
            self.chats[0, status.value] = ids

    @staticmethod
    def _chat(user):
        chat, first = chat_services.chat_create(user=user, title="Fuzzed", question="Q1", response="R1")
        second, _ = chat_services.message_add(user=user, chat_id=chat.id, question="Q2", response="R2")
        branch, _ = branch_services.branch_create(
            user=user, chat_id=chat.id, response_id=first.response_id, question="Q2'", response="R2'", activate=False
        )
        third, _ = chat_services.message_add(
            user=user, chat_id=chat.id, branch_id=branch.id, question="Q3'", response="R3'"
        )
        return {
            "chat": [str(chat.id)],
            "branch": [str(chat.active_branch_id), str(branch.id)],
            "pair": [first.response_id, second.response_id, third.response_id],
        }

    def ensure_whole(self):
        chat_ids = {chat for ids in self.chats.values() for chat in ids["chat"]}
        branch_ids = {branch for ids in self.chats.values() for branch in ids["branch"]}
        if Chat.objects.filter(pk__in=chat_ids).count() != len(chat_ids) or Branch.objects.filter(
            pk__in=branch_ids
        ).count() != len(branch_ids):
            self.build()

    def personalize(self, case):
        """Choose the sender of the case and the real ids that replace its generated ones."""
        rng = random.Random(repr((case.operation.label, case.method, case.query, case.body)))
        sender = 0 if rng.random() < 0.8 else 1
        scenario = rng.choices(list(SCENARIOS), list(SCENARIOS.values()))[0]
        if case.headers and case.headers.get("Authorization") == f"Bearer {TOKEN_PLACEHOLDER}":
            case.headers["Authorization"] = f"Bearer {self.tokens[sender]}"
        if scenario == "as-generated":
            return
        self._use_real_credentials(case, sender, rng)
        everyone = list(self.chats.values())
        target = {
            "own": self.chats[sender, "main"],
            "own-locked": self.chats.get((sender, "locked"), self.chats[sender, "main"]),
            "own-hidden": self.chats.get((sender, "hidden"), self.chats[sender, "main"]),
            "other-users": self.chats[1 - sender, "main"],
        }.get(scenario)
        for container in (case.query, case.body):
            if not isinstance(container, dict):
                continue
            for name, kind in ID_KINDS.items():
                # Only well-formed UUIDs: an invalid value stays invalid.
                if isinstance(container.get(name), str) and UUID.match(container[name]) and rng.random() < 0.85:
                    container[name] = rng.choice((target or rng.choice(everyone))[kind])

    def _use_real_credentials(self, case, sender, rng):
        body = case.body
        if not isinstance(body, dict) or rng.random() < 0.4:
            return
        operation = case.operation.label
        if operation.endswith(("/auth/refresh", "/auth/logout")) and isinstance(body.get("refresh"), str):
            body["refresh"] = str(RefreshToken.for_user(self.users[sender]))
        elif operation.endswith("/auth/login") and isinstance(body.get("username"), str):
            body["username"] = self.users[sender].username
            if isinstance(body.get("password"), str):
                body["password"] = PASSWORD
        elif operation.endswith("/auth/register") and isinstance(body.get("password"), str):
            body["password"] = f"{PASSWORD}-{rng.randrange(10**6)}"


@pytest.fixture
def seed_only_generation(monkeypatch):
    """Hypothesis mixes literals from whichever project modules are imported
    into its draws, and those differ between running this file alone and the
    whole suite (and change with every edit of app code). Without them the
    cases depend on the seed, the schema and the pinned versions alone."""
    monkeypatch.setattr(hypothesis_providers, "_get_local_constants", hypothesis_providers.Constants)
    hypothesis_providers.CONSTANTS_CACHE.cache.clear()
    yield
    hypothesis_providers.CONSTANTS_CACHE.cache.clear()


@pytest.fixture
def world():
    REPORTED.clear()
    yield World()
    if REPORTED:
        pytest.fail(f"{len(REPORTED)} failures written to {REPORT_PATH}", pytrace=False)


# --- the test --------------------------------------------------------------


@schema.parametrize()
# The world is shared by the examples of an operation on purpose; generation
# time depends on the machine, so it must not fail the test.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api_conforms_to_its_schema(case, seed_only_generation, world):
    world.ensure_whole()
    world.personalize(case)
    response = case.call(app=APP)
    case.validate_response(response, checks=CHECKS)


def test_baseline_is_well_formed():
    # load_baseline asserts the format; an empty or missing file is fine.
    assert isinstance(load_baseline(), list)


class _Stub:
    def __init__(self, **attributes):
        self.__dict__.update(attributes)


@pytest.mark.parametrize(
    ("status", "content_type", "content", "problem"),
    [
        (404, "application/json", b'{"type": "client_error", "errors": [{"code": "x", "detail": "y", "attr": null}]}', None),
        (200, "text/html", b"<html></html>", None),
        (500, "text/html; charset=utf-8", b"<h1>Server Error</h1>", "Content-Type"),
        (400, "application/json", b"{not json", "not valid JSON"),
        (400, "application/json", b'{"detail": "Not found."}', "exactly `type` and `errors`"),
        (400, "application/json", b'{"type": "validation_error", "errors": []}', "non-empty list"),
        (400, "application/json", b'{"type": "client_error", "errors": [{"code": "x", "detail": "y"}]}', "exactly"),
        (400, "application/json", b'{"type": "client_error", "errors": [{"code": 1, "detail": "y", "attr": 2}]}', "must be"),
    ],
)
def test_error_shape_check(status, content_type, content, problem):
    response = _Stub(status_code=status, headers={"content-type": [content_type]}, content=content)
    case = _Stub(path="/api/v1/chats/get-chat")
    if problem is None:
        assert error_body_shape(None, response, case) is None
    else:
        with pytest.raises(AssertionError, match=re.escape(problem)):
            error_body_shape(None, response, case)
