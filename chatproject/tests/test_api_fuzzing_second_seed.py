"""The schema fuzzing of `test_api_fuzzing.py` once more, with a second seed.

Same checks, users, id swapping and baseline; only the seed differs, so the
run explores other requests while staying reproducible (a failure here
replays the same way locally).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from chatproject.tests.test_api_fuzzing import (  # noqa: F401 (fixtures)
    APP,
    CHECKS,
    MAX_EXAMPLES,
    UserToken,
    filter_failure,
    seed_only_generation,
    world,
)

SECOND_SEED = 20261130

pytestmark = pytest.mark.django_db(transaction=True)

# As in test_api_fuzzing.py but for the seed.
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SECOND_SEED,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "analysis": {"constants": {"enabled": False}},
    }
)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP, config=CONFIG)
schema.auth(refresh_interval=None)(UserToken)
schema.hook(filter_failure)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api_conforms_to_its_schema_second_seed(case, seed_only_generation, world):
    world.ensure_whole()
    world.personalize(case)
    response = case.call(app=APP)
    case.validate_response(response, checks=CHECKS)
