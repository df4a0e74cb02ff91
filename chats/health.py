"""The check of `/health` for what this app owns: the content store,
registered when the app is ready."""

import dataclasses

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from chatproject.errors import ContentStoreUnavailable

from . import content_repository


@dataclasses.dataclass
class MongoDB(HealthCheck):
    def run(self):
        try:
            content_repository.ping()
        except ContentStoreUnavailable as exc:
            raise ServiceUnavailable("MongoDB is unreachable") from exc
