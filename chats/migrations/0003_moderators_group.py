"""The `moderators` group: what moderation in the admin needs, and no more —
see chats, lock/unlock/hide/restore/delete them, see branches and users."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "moderators"
PERMISSIONS = [
    ("chats", "view_chat"),
    ("chats", "change_chat"),
    ("chats", "delete_chat"),
    ("chats", "view_branch"),
    ("accounts", "view_user"),
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure the
    # ones this group needs exist now.
    for label in sorted({app for app, _ in PERMISSIONS}):
        app_config = apps.get_app_config(label)
        # Historical app configs carry no models module, which create_permissions
        # takes for "nothing to do".
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(
        Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in PERMISSIONS
    )


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0002_composite_foreign_keys"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
