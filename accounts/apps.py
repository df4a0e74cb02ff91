from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import schema  # noqa: F401 - registers the docs' authentication scheme
        from .authentication import forget
        from .models import User

        # A user changed through the model (the admin, a save, a delete) is
        # read again on this process's next request; see authentication.py.
        def _forget(sender, instance, **kwargs):
            forget(instance.pk)

        post_save.connect(_forget, sender=User, dispatch_uid="accounts.forget_cached_user.save", weak=False)
        post_delete.connect(_forget, sender=User, dispatch_uid="accounts.forget_cached_user.delete", weak=False)
