"""The checks of `/health` for what this app owns: the content store and the
language model, registered when the app is ready."""

import dataclasses

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from chatproject.errors import ContentStoreUnavailable

from . import content_repository, llm


@dataclasses.dataclass
class MongoDB(HealthCheck):
    def run(self):
        try:
            content_repository.ping()
        except ContentStoreUnavailable as exc:
            raise ServiceUnavailable("MongoDB is unreachable") from exc


@dataclasses.dataclass
class LanguageModel(HealthCheck):
    """The model server answers (`openai`) or the model file loads (`local`);
    passes when generation is off (reported as "off")."""

    def run(self):
        if llm.check() == "down":
            raise ServiceUnavailable("The language model is unreachable")
