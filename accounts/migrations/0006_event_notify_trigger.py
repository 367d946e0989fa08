"""A committed INSERT into the events table wakes the webhook dispatcher (PostgreSQL only).

A statement-level trigger sends NOTIFY on the channel the dispatcher LISTENs on. PostgreSQL delivers a
notification only when its transaction commits, and once per transaction, so a rolled-back change
wakes nobody and emitting stays one statement on the write path (no round trip to Redis or a broker).
"""
from django.db import migrations

CHANNEL = "tskr_webhooks"  # accounts.delivery.WAKE_CHANNEL

CREATE = [
    f"""CREATE FUNCTION accounts_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END $$""",
    """CREATE TRIGGER accounts_event_notify AFTER INSERT ON accounts_event
        FOR EACH STATEMENT EXECUTE FUNCTION accounts_event_notify()""",
]
DROP = ["DROP TRIGGER IF EXISTS accounts_event_notify ON accounts_event",
        "DROP FUNCTION IF EXISTS accounts_event_notify()"]


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_agent_event_types"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP)),
    ]
