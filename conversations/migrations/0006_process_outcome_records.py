"""Stored processing outcomes become records of the domain (`ProcessOutcome.record()`), no longer the API's
camelCase body: the body is built by the API layer (`api.serializers.process_body`)."""
from django.db import migrations

FLAGS = ("ignored", "suppressed", "replayed")


def body_to_record(body: dict) -> dict:
    return {"message": body.get("message"), "task_ids": body.get("taskIds", []),
            **{flag: bool(body.get(flag, False)) for flag in FLAGS}, "usage": body.get("usage")}


def record_to_body(record: dict, *, job: bool) -> dict:
    body = {"message": record["message"], "taskIds": record["task_ids"]}
    body.update({flag: True for flag in FLAGS if record.get(flag)})
    return {"ok": True, **body, "usage": record.get("usage")} if job else body


def forwards(apps, schema_editor):
    _convert(apps, lambda stored, job: body_to_record(stored), is_old=lambda stored: "taskIds" in stored)


def backwards(apps, schema_editor):
    _convert(apps, lambda stored, job: record_to_body(stored, job=job), is_old=lambda stored: "task_ids" in stored)


def _convert(apps, convert, *, is_old):
    for model, field, job in (("Message", "process_outcome", False), ("ChatJob", "result", True)):
        rows = apps.get_model("conversations", model).objects.exclude(**{f"{field}__isnull": True})
        for row in rows.iterator():
            stored = getattr(row, field)
            if is_old(stored):
                setattr(row, field, convert(stored, job))
                row.save(update_fields=[field])


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0005_engine_call"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
