from django.db import migrations


class Migration(migrations.Migration):
    """A branch's generation is claimed by its run (`generation.Run`) now;
    the claims still open were copied there first."""

    dependencies = [
        ("chats", "0007_branch_generating_uncounted_since"),
        ("generation", "0001_initial"),
    ]

    operations = [
        migrations.RemoveField(model_name="branch", name="generating_response_id"),
        migrations.RemoveField(model_name="branch", name="generating_since"),
        migrations.RemoveField(model_name="branch", name="generating_uncounted"),
    ]
