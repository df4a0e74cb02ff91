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

        from . import content_repository, llm
        from .health import LanguageModel, MongoDB

        content_repository.connect()
        on_serving(_drop_chats_without_content)
        on_serving(_prepare_model)
        register_check(
            MongoDB, name=lambda: "mongomock" if content_repository.is_ephemeral() else "mongodb", essential=True
        )
        register_check(
            LanguageModel, name=lambda: "model", essential=False, up=lambda: "ok" if llm.enabled() else "off"
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

    drop_chats_without_content_at_start()


def _prepare_model():
    import threading

    from . import llm

    # In the background: the server answers at once, and a first question
    # that comes before the model is ready waits for it as it would anyway.
    threading.Thread(target=llm.prepare, name="llm-prepare", daemon=True).start()
