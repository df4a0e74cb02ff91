"""Foreign keys Django cannot declare: a chat's active branch and a branch's
parent must belong to the same chat. PostgreSQL only (the SQLite fallback for
local use cannot add constraints to an existing table); deferred, like
Django's own foreign keys, so a chat and its root can be created in one
transaction in either order."""

from django.db import migrations

CONSTRAINTS = [
    (
        "chats",
        "chats_active_branch_in_chat",
        "FOREIGN KEY (id, active_branch_id) REFERENCES conversations (chat_id, id)",
    ),
    (
        "conversations",
        "conversations_parent_in_chat",
        "FOREIGN KEY (chat_id, parent_id) REFERENCES conversations (chat_id, id)",
    ),
]


def add_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, definition in CONSTRAINTS:
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition} DEFERRABLE INITIALLY DEFERRED"
        )


def drop_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, _ in CONSTRAINTS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")


class Migration(migrations.Migration):
    dependencies = [("chats", "0001_initial")]

    operations = [migrations.RunPython(add_constraints, drop_constraints)]
