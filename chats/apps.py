import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class ChatsConfig(AppConfig):
    name = "chats"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from chatproject.api.health import register_check

        from . import content_repository
        from .health import MongoDB

        content_repository.connect()
        register_check("mongodb", MongoDB, essential=True)
        if content_repository.is_ephemeral() and settings.MONGODB_WARN_IF_EPHEMERAL:
            logger.warning(
                "\n%s\nMessage content is stored in an in-process MongoDB stand-in "
                "(mongomock) and is NOT persisted: it is lost when this process ends.\n"
                "Set MONGODB_URI to a MongoDB server to keep it.\n%s",
                "!" * 78,
                "!" * 78,
            )
