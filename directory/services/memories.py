"""Writes of memories (what the assistant keeps about a user), each with its webhook event."""
from django.db import transaction

from accounts.events import changed_attributes, event_emit
from accounts.models import Account, EventType, User
from tskr.services import model_update

from ..models import Memory
from ..validation import ensure_choice
from .common import api_data


@transaction.atomic
def memory_create(*, account: Account, user: User, title: str, content: str, type: str = Memory.Type.NOTE,
                  tags: list[str] | None = None, metadata: dict | None = None) -> Memory:
    ensure_choice(type, Memory.Type.values, "type")
    memory = Memory.objects.create(account=account, user=user, title=title, content=content, type=type,
                                   tags=list(dict.fromkeys(tags or [])), metadata=metadata or {})
    event_emit(account_id=account.id, type=EventType.MEMORY_CREATED, data=api_data(memory))
    return memory


@transaction.atomic
def memory_update(*, memory: Memory, **fields) -> Memory:
    if "type" in fields:
        ensure_choice(fields["type"], Memory.Type.values, "type")
    if "tags" in fields:
        fields["tags"] = list(dict.fromkeys(fields["tags"]))
    before = api_data(memory)
    model_update(memory, fields)
    after = api_data(memory)
    event_emit(account_id=memory.account_id, type=EventType.MEMORY_UPDATED, data=after,
               previous_attributes=changed_attributes(before, after))
    return memory


@transaction.atomic
def memory_delete(*, memory: Memory) -> None:
    event_emit(account_id=memory.account_id, type=EventType.MEMORY_DELETED, data=api_data(memory))
    memory.delete()
