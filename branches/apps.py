from django.apps import AppConfig


class BranchesConfig(AppConfig):
    name = "branches"
    default_auto_field = "django.db.models.BigAutoField"
