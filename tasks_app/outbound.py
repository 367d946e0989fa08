"""Outbound messages: what the assistant has to say on a task's behalf, for the integrator to send.

TSKR never sends email or chat messages itself. An outbound message is three records written together:
an assistant message in the task's source chat, a `message` activity on the task, and the
`message.outbound` event the integrator's webhook receives and acts on. The message's id is derived from
the caller's `key` (the agent step or scheduled action that speaks), and the activity and the event are
written only when that message is new, so a step that runs twice says it once.
"""
from accounts.events import event_emit
from accounts.models import EventType
from conversations.addressing import subject_reply
from conversations.models import Message
from conversations.selectors import chat_thread
from conversations.services import message_outbound_add
from tskr.exceptions import Conflict
from tskr.infra.ids import derived_id

from .models import Activity, Task


def outbound_message_send(*, task: Task, content: str, to: list[str], cc: list[str] | None = None,
                          subject: str | None = None, in_reply_to: str | None = None, key: str,
                          events: list[dict] | None = None) -> Message:
    """Store and announce one outbound message of `task` (call inside a transaction); see the module doc.

    For email, `subject` (else the thread's) gets `Re:` once, as chat replies do; other platforms address
    `to` and `cc` together. The same `key` again
    returns the first message and writes nothing. A task without a source chat has nowhere to speak: 409.
    `events`: a list the caller emits later in the same transaction (`events_emit_many`, one INSERT with
    its own); `message.outbound` is appended to it instead of emitted here.
    """
    if task.source_chat_id is None:
        raise Conflict("This task has no chat to send a message in", error_code="task_has_no_chat")
    platform, thread_subject = chat_thread(chat_id=task.source_chat_id)
    to, cc = list(to), list(cc or [])
    metadata = {"to": to, "taskId": task.id, "inReplyTo": in_reply_to}
    if platform == Message.Platform.EMAIL:
        metadata.update(cc=cc, subject=subject_reply(subject or thread_subject or task.title))
    else:  # other platforms have no copy: everyone is addressed, as chat replies do
        metadata["to"] = to = to + [handle for handle in cc if handle not in to]
    message, created = message_outbound_add(chat=task.source_chat, message_id=derived_id("msg", f"outbound:{key}"),
                                            platform=platform, content=content, metadata=metadata)
    if not created:
        return message
    announced = {"to": to, "cc": metadata.get("cc", []), "subject": metadata.get("subject")}
    Activity.objects.create(account_id=task.account_id, task=task, type=Activity.Type.MESSAGE, content=content,
                            actor_assistant_id=task.assistant_id,
                            metadata={"messageId": message.id, "chatId": task.source_chat_id, **announced})
    # No event key: the new message is the guard already (an event keyed on it cost a read and a savepoint).
    event = {"account_id": task.account_id, "type": EventType.MESSAGE_OUTBOUND, "data": {
        "messageId": message.id, "chatId": task.source_chat_id, "taskId": task.id, "platform": platform,
        **announced, "content": content,
    }}
    if events is None:
        event_emit(**event)
    else:
        events.append(event)
    return message
