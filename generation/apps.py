import threading

from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from branches import reconcile as branch_reconcile
        from chatproject.api.health import register_check
        from chatproject.startup import on_serving

        from . import providers, reconcile
        from .health import LanguageModel

        branch_reconcile.register_check(reconcile.check, kinds=reconcile.KINDS)
        register_check(
            LanguageModel, name=lambda: "model", essential=False, up=lambda: "ok" if providers.enabled() else "off"
        )
        on_serving(_prepare_model)
        on_serving(_keep_generations_alive)


def _prepare_model():
    from . import providers

    # In the background: the server answers at once, and a first question
    # that comes before the model is ready waits for it as it would anyway.
    threading.Thread(target=providers.prepare, name="llm-prepare", daemon=True).start()


def _keep_generations_alive():
    from . import liveness

    # Every serving process ends the generations of processes that died.
    liveness.serve()
