import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def claims_to_runs(apps, schema_editor):
    """The branches claimed by a generation when this runs (the claim lived on
    the branch until now) become runs. Their processes are gone, stopped by
    the deploy that migrates: they are given no heartbeat, so the first
    serving process ends them (interrupted) and frees their branches."""
    Branch = apps.get_model("chats", "Branch")
    Run = apps.get_model("generation", "Run")
    long_ago = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    claimed = Branch.objects.filter(generating_response_id__isnull=False).select_related("chat")
    Run.objects.bulk_create(
        Run(
            response_id=branch.generating_response_id,
            chat_id=branch.chat_id,
            branch_id=branch.id,
            user_id=branch.chat.owner_id,
            uncounted=branch.generating_uncounted,
            runner="before the upgrade",
            started_at=branch.generating_since or long_ago,
            heartbeat_at=long_ago,
        )
        for branch in claimed
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("chats", "0007_branch_generating_uncounted_since"),
    ]

    operations = [
        migrations.CreateModel(
            name="Run",
            fields=[
                ("response_id", models.UUIDField(primary_key=True, serialize=False)),
                ("chat_id", models.UUIDField()),
                ("branch_id", models.UUIDField(unique=True)),
                ("uncounted", models.BooleanField(default=False)),
                ("stop_requested", models.BooleanField(default=False)),
                ("runner", models.CharField(max_length=200)),
                ("started_at", models.DateTimeField()),
                ("heartbeat_at", models.DateTimeField()),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "db_table": "generation_runs",
                "indexes": [
                    models.Index(fields=["heartbeat_at"], name="generation_runs_heartbeat"),
                    models.Index(fields=["user", "heartbeat_at"], name="generation_runs_user"),
                ],
            },
        ),
        migrations.RunPython(claims_to_runs, migrations.RunPython.noop),
    ]
