"""PostgreSQL-only indexes for memory search and JSON array filters; nothing happens on SQLite.

- Memory search is `UPPER(col::text) LIKE UPPER('%term%')` (Django's icontains): trigram GIN indexes
  on exactly those expressions serve it.
- Tag filters are jsonb containment (`tags @> '["a","b"]'`) and the bulk import matches additional
  emails with `emails ?| array[...]`: GIN (jsonb_ops) indexes serve both.
"""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "directory_memory_title_trgm": "directory_memory USING gin ((UPPER(title::text)) gin_trgm_ops)",
    "directory_memory_content_trgm": "directory_memory USING gin ((UPPER(content::text)) gin_trgm_ops)",
    "directory_memory_tags_gin": "directory_memory USING gin (tags)",
    "directory_contact_tags_gin": "directory_contact USING gin (tags)",
    "directory_contact_emails_gin": "directory_contact USING gin (emails)",
}


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that is skipped on other databases (SQLite has neither GIN nor pg_trgm)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ("directory", "0002_memories_contacts_preferences"),
    ]

    operations = [
        TrigramExtension(),
        *[PostgresOnlySQL(f"CREATE INDEX IF NOT EXISTS {name} ON {target}", f"DROP INDEX IF EXISTS {name}")
          for name, target in INDEXES.items()],
    ]
