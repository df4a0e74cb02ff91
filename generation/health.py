"""The check of `/health` for the language model."""

import dataclasses

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from . import providers


@dataclasses.dataclass
class LanguageModel(HealthCheck):
    """The model server answers (`openai`) or the model file loads (`local`);
    passes when generation is off (reported as "off")."""

    def run(self):
        if providers.check() == "down":
            raise ServiceUnavailable("The language model is unreachable")
