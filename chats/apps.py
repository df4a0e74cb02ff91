import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class ChatsConfig(AppConfig):
    name = "chats"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from chatproject.api.health import register_check
        from chatproject.startup import on_serving

        from . import content_repository
        from .health import MongoDB

        content_repository.connect()
        on_serving(_drop_chats_without_content)
        register_check(
            MongoDB, name=lambda: "mongomock" if content_repository.is_ephemeral() else "mongodb", essential=True
        )
        if content_repository.is_ephemeral() and settings.MONGODB_WARN_IF_EPHEMERAL:
            logger.warning(
                "\n%s\nMessage content is stored in an in-process MongoDB stand-in "
                "(mongomock) and is NOT persisted: it is lost when this process ends.\n"
                "Set MONGODB_URI to a MongoDB server to keep it.\n%s",
                "!" * 78,
                "!" * 78,
            )


def _drop_chats_without_content():
    from .ephemeral import drop_chats_without_content_at_start

    if settings.PRUNE_CHATS_WITHOUT_CONTENT_AT_START:
        drop_chats_without_content_at_start()
