"""Locking and hiding become two independent flags; `status` is derived from
them by the database (hidden > locked > active). Existing chats keep what they
showed: a locked chat stays locked, a hidden one hidden."""

from django.db import migrations, models

STATUS = models.GeneratedField(
    db_persist=True,
    expression=models.Case(
        models.When(hidden=True, then=models.Value("hidden")),
        models.When(locked=True, then=models.Value("locked")),
        default=models.Value("active"),
    ),
    output_field=models.CharField(
        choices=[("active", "Active"), ("locked", "Locked"), ("hidden", "Hidden")], max_length=16
    ),
)


def flags_from_status(apps, schema_editor):
    Chat = apps.get_model("chats", "Chat")
    Chat.objects.filter(status="locked").update(locked=True)
    Chat.objects.filter(status="hidden").update(hidden=True)


def status_from_flags(apps, schema_editor):
    # Going back to one status can keep only what a chat shows (hidden wins).
    Chat = apps.get_model("chats", "Chat")
    Chat.objects.filter(locked=True).update(status="locked")
    Chat.objects.filter(hidden=True).update(status="hidden")


class Migration(migrations.Migration):

    dependencies = [
        ("chats", "0004_branch_optional_fields"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="branch",
            options={"verbose_name_plural": "branches"},
        ),
        migrations.AddField(
            model_name="chat",
            name="hidden",
            field=models.BooleanField(default=False, help_text="Invisible to its owner (404), shown only here."),
        ),
        migrations.AddField(
            model_name="chat",
            name="locked",
            field=models.BooleanField(
                default=False, help_text="Read-only to its owner (409 on every write but delete)."
            ),
        ),
        migrations.RunPython(flags_from_status, status_from_flags),
        migrations.RemoveConstraint(
            model_name="chat",
            name="chats_status_valid",
        ),
        migrations.RemoveField(model_name="chat", name="status"),
        migrations.AddField(model_name="chat", name="status", field=STATUS),
    ]
