"""The webhook events' `data` schemas in the OpenAPI document (a drf-spectacular postprocessing hook).

One component per event type, `WebhookEvent.<type>`, each the delivery body with its `data` schema
(mostly the API's own resource components, referenced by name), and `WebhookEventPayload`, their
union discriminated by `type`. `GET /events` items and webhook bodies have this shape.
"""
from .models import EventType


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _with(base: str, **properties) -> dict:
    return {"allOf": [_ref(base), {"type": "object", "properties": properties, "required": list(properties)}]}


_STRING = {"type": "string"}
_PREVIOUS = {"type": "object", "additionalProperties": True,
             "description": "The old values of the fields this change modified (`updatedAt` left out)"}
_USAGE = {"type": "object", "description": "The engine call's tokens, as the provider reported them",
          "properties": {name: {"type": "integer"} for name in (
              "inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens")}}
_PROCESSED = {"type": "object", "required": ["message", "taskIds", "chatId", "messageId", "usage"], "properties": {
    "message": {"allOf": [_ref("Reply")], "nullable": True, "description": "null when ignored or suppressed"},
    "taskIds": {"type": "array", "items": _STRING},
    "ignored": {"type": "boolean"}, "suppressed": {"type": "boolean"},
    "chatId": _STRING, "messageId": {"type": "string", "description": "The inbound message that was processed"},
    "usage": _USAGE,
}}
_SYNC = _with("SyncResult", identifierId=_STRING, userId={"type": "string", "nullable": True},
              platforms={"type": "array", "items": _ref("CalendarPlatformEnum")})

#: event type -> the schema of its `data`
_NULLABLE = {"type": "string", "nullable": True}
_TASK_REMINDER = {"type": "object", "required": ["taskId", "userId", "dueAt", "text", "chatId"], "properties": {
    "taskId": _STRING, "userId": _NULLABLE, "dueAt": {"type": "string", "format": "date-time"}, "text": _STRING,
    "chatId": _NULLABLE}}
_REMINDED = {"type": "object", "required": ["id", "title", "start", "end", "location", "conferenceLink"], "properties": {
    "id": _STRING, "title": _STRING, "start": {"type": "string", "format": "date-time"},
    "end": {"type": "string", "format": "date-time"}, "location": _STRING, "conferenceLink": _NULLABLE}}
_MEETING_REMINDER = {"type": "object", "required": ["channel", "userId", "minutesBefore"], "properties": {
    "channel": {"type": "string", "enum": ["email", "slack", "teams"]}, "userId": _STRING,
    "minutesBefore": {"type": "integer"},
    "meeting": {**_REMINDED, "description": "A meeting TSKR booked (or `event`)"},
    "event": {**_REMINDED, "description": "A synced calendar event (level all-events)"}}}
EVENT_DATA_SCHEMAS = {
    EventType.CHAT_CREATED: _ref("Chat"),
    EventType.CHAT_MESSAGE_CREATED: _with("Message", chatId=_STRING),
    EventType.CHAT_PROCESSED: _PROCESSED,
    EventType.CHAT_JOB_SUCCEEDED: _ref("ChatJob"),
    EventType.CHAT_JOB_FAILED: _ref("ChatJob"),
    EventType.TASK_CREATED: _ref("Task"),
    EventType.TASK_UPDATED: _with("Task", previousAttributes=_PREVIOUS),
    EventType.TASK_STATUS_CHANGED: _with("Task", previousAttributes=_PREVIOUS),
    EventType.TASK_DELETED: _ref("Task"),
    EventType.MEETING_BOOKED: _ref("Meeting"),
    EventType.MEETING_RESCHEDULED: _with("Meeting", previousAttributes=_PREVIOUS),
    EventType.MEETING_CANCELLED: _ref("Meeting"),
    EventType.MESSAGE_OUTBOUND: {
        "type": "object", "required": ["messageId", "chatId", "taskId", "platform", "to", "cc", "subject", "content"],
        "description": "A message the assistant wrote on a task's behalf: the integrator sends it",
        "properties": {"messageId": _STRING, "chatId": _STRING, "taskId": _STRING, "platform": _STRING,
                       "to": {"type": "array", "items": _STRING}, "cc": {"type": "array", "items": _STRING},
                       "subject": {"type": "string", "nullable": True, "description": "email only"},
                       "content": _STRING}},
    EventType.APPROVAL_REQUESTED: _ref("Approval"),
    EventType.APPROVAL_APPROVED: _ref("Approval"),
    EventType.APPROVAL_REJECTED: _ref("Approval"),
    EventType.APPROVAL_EXPIRED: _ref("Approval"),
    EventType.REMINDER_DUE: {"oneOf": [_TASK_REMINDER, _MEETING_REMINDER],
                             "description": "A reminder fell due: a reminder task's (the owner was sent it in the "
                                            "task's chat) or a meeting reminder, one per enabled channel"},
    EventType.FOLLOWUP_DUE: {
        "type": "object", "required": ["taskId", "userId", "person", "attempt", "chatId", "messageId", "approvalId"],
        "description": "A follow-up fell due: the person had not written; its message went out (`messageId`) or "
                       "waits for the owner's approval (`approvalId`)",
        "properties": {"taskId": _STRING, "userId": _STRING, "person": _STRING, "attempt": {"type": "integer"},
                       "chatId": _NULLABLE, "messageId": _NULLABLE, "approvalId": _NULLABLE}},
    EventType.MEMORY_CREATED: _ref("Memory"),
    EventType.MEMORY_UPDATED: _with("Memory", previousAttributes=_PREVIOUS),
    EventType.MEMORY_DELETED: _ref("Memory"),
    EventType.CONTACT_CREATED: _ref("Contact"),
    EventType.CONTACT_UPDATED: _with("Contact", previousAttributes=_PREVIOUS),
    EventType.CONTACT_DELETED: _ref("Contact"),
    EventType.CONTACTS_IMPORTED: _with("ContactsImportResult", userId=_STRING),
    EventType.IDENTIFIER_SYNC_SUCCEEDED: _SYNC,
    EventType.IDENTIFIER_SYNC_FAILED: _SYNC,
    EventType.IDENTIFIER_OAUTH_REAUTHORIZATION_REQUIRED: {
        "type": "object", "required": ["identifierId", "platform", "error"],
        "properties": {"identifierId": _STRING, "platform": _ref("CalendarPlatformEnum"), "error": _STRING}},
    EventType.WEBHOOK_TEST: {"type": "object", "required": ["webhookId", "message"],
                             "properties": {"webhookId": _STRING, "message": _STRING}},
}


def add_webhook_event_schemas(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    mapping = {}
    for event_type, data_schema in EVENT_DATA_SCHEMAS.items():
        name = f"WebhookEvent.{event_type}"
        mapping[str(event_type)] = f"#/components/schemas/{name}"
        schemas[name] = {
            "type": "object", "required": ["id", "type", "timestamp", "data"],
            "description": f"The body of a `{event_type}` delivery (and its item in GET /events)",
            "properties": {"id": {"type": "string", "description": "evt_...; also the webhook-id header"},
                           "type": {"type": "string", "enum": [str(event_type)]},
                           "timestamp": {"type": "string", "format": "date-time"}, "data": data_schema},
        }
    schemas["WebhookEventPayload"] = {
        "description": "A webhook delivery's JSON body, signed per Standard Webhooks (webhook-id, webhook-timestamp, "
                       "webhook-signature headers)",
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }
    return result
