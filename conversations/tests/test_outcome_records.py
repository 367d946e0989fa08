"""Processing outcomes are stored as domain records; the camelCase body is built by the API layer only."""
import importlib

from conversations.api.serializers import process_body
from conversations.services import ProcessOutcome

migration = importlib.import_module("conversations.migrations.0006_process_outcome_records")

REPLY = {"id": "msg_1", "to": ["alice@acme.test"], "content": "Done", "platform": "chat"}


def test_the_api_body_of_an_outcome_names_only_the_flags_that_are_true():
    outcome = ProcessOutcome(message=None, task_ids=["task_1"], suppressed=True, usage={"inputTokens": 1})
    assert process_body(outcome) == {"message": None, "taskIds": ["task_1"], "suppressed": True}
    assert process_body(ProcessOutcome.replay_of(outcome.record())) == {
        "message": None, "taskIds": ["task_1"], "suppressed": True, "replayed": True}


def test_the_migration_turns_stored_bodies_into_records_and_back():
    job_body = {"ok": True, "message": REPLY, "taskIds": [], "replayed": True, "usage": None}
    record = migration.body_to_record(job_body)
    assert ProcessOutcome.from_record(record) == ProcessOutcome(message=REPLY, replayed=True)
    assert migration.record_to_body(record, job=True) == job_body
    message_body = {"message": None, "taskIds": ["task_1"], "ignored": True}
    assert migration.record_to_body(migration.body_to_record(message_body), job=False) == message_body
