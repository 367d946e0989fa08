"""Reads of chats, messages and processing jobs, every one scoped by account."""
from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from accounts.models import Account

from .models import Chat, ChatJob, Message

#: How much of the conversation the engine sees: enough context, a bounded prompt.
TRANSCRIPT_LIMIT = 30


def chat_list(*, account: Account) -> QuerySet[Chat]:
    """Newest activity first (last message, else creation), the assistant joined in (one query a page)."""
    return (Chat.objects.filter(account=account).select_related("assistant")
            .annotate(activity_at=Coalesce("last_message_at", "created_at"))
            .order_by("-activity_at", "-id"))


def message_list(*, chat: Chat) -> QuerySet[Message]:
    """Oldest first, as a conversation is read."""
    return Message.objects.filter(account_id=chat.account_id, chat=chat).order_by("timestamp", "id")


def message_list_by_chat_id(*, account: Account, chat_id: str) -> QuerySet[Message]:
    """`message_list` without loading the chat first: empty for a chat that is not in the account."""
    return Message.objects.filter(account=account, chat_id=chat_id).order_by("timestamp", "id")


def message_latest_inbound(*, chat: Chat) -> Message | None:
    """The message the assistant answers: the newest one a human wrote."""
    return (Message.objects.filter(account_id=chat.account_id, chat=chat, role=Message.Role.USER)
            .select_related("sender").order_by("-timestamp", "-id").first())


def message_transcript(*, chat: Chat, until: Message) -> list[Message]:
    """The last TRANSCRIPT_LIMIT messages up to and including `until`, oldest first."""
    recent = (Message.objects.filter(account_id=chat.account_id, chat=chat, timestamp__lte=until.timestamp)
              .select_related("sender").order_by("-timestamp", "-id")[:TRANSCRIPT_LIMIT])
    return list(reversed(recent))


def chat_job_get(*, chat: Chat, job_id: str) -> ChatJob | None:
    return ChatJob.objects.filter(account_id=chat.account_id, chat=chat, id=job_id).first()


def chat_job_live(*, message: Message) -> ChatJob | None:
    """The message's job that has not failed (at most one: a database constraint), if any."""
    return ChatJob.objects.filter(account_id=message.account_id, message=message).exclude(
        status=ChatJob.Status.FAILED).first()
