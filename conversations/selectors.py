"""Reads of chats, messages, processing jobs and engine usage, every one scoped by account."""
from datetime import date, datetime, time, timedelta, timezone
from functools import cache

from django.db import connection
from django.db.models import Case, Count, F, FloatField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import Account, User
from tskr.infra.aggregates import PercentileCont
from tskr.infra.sql import Columns, table

from .models import Chat, ChatJob, EngineCall, Message

#: How much of the conversation the engine sees: enough context, a bounded prompt.
TRANSCRIPT_LIMIT = 30


def chat_list(*, queryset: QuerySet[Chat]) -> QuerySet[Chat]:
    """Chats of one account (`queryset`, already scoped), newest activity first (last message, else
    creation), the assistant joined in (one query a page)."""
    return (queryset.select_related("assistant")
            .annotate(activity_at=Coalesce("last_message_at", "created_at"))
            .order_by("-activity_at", "-id"))


def chat_for_processing(*, queryset: QuerySet[Chat]) -> QuerySet[Chat]:
    """Chats of one account (`queryset`, already scoped) as processing reads one: the assistant joined in,
    and `latest_inbound_processed_at`, when the latest inbound message was processed (None: not yet, or
    no such message), so that a processing needs no query of its own before taking the chat's lock."""
    newest_inbound = _inbound(Message.objects.filter(account_id=OuterRef("account_id"), chat=OuterRef("pk")))
    return queryset.select_related("assistant").annotate(
        latest_inbound_processed_at=Subquery(newest_inbound.values("processed_at")[:1]))


def _inbound(messages: QuerySet[Message]) -> QuerySet[Message]:
    """The messages a human wrote among `messages`, newest first: the first is the one the assistant answers."""
    return messages.filter(role=Message.Role.USER).order_by("-timestamp", "-id")


def message_list(*, queryset: QuerySet[Message], chat_id: str) -> QuerySet[Message]:
    """The messages of one chat among `queryset` (messages of one account, already scoped), oldest first
    as a conversation is read; empty for a chat that is not in the account."""
    return queryset.filter(chat_id=chat_id).order_by("timestamp", "id")


def message_latest_inbound(*, chat: Chat) -> Message | None:
    """The message the assistant answers: the newest one a human wrote."""
    return _inbound(Message.objects.filter(account_id=chat.account_id, chat=chat)).select_related("sender").first()


def message_latest_inbound_and_transcript(*, chat: Chat) -> tuple[Message | None, list[Message]]:
    """The message the assistant answers (`message_latest_inbound`) and the transcript up to it: the last
    TRANSCRIPT_LIMIT messages up to and including it, oldest first, each with its sender. One statement,
    written by hand (`tskr.infra.sql`; every processing runs it): the messages up to the newest inbound
    one's time, among which the first inbound one is it."""
    sql, parts = _transcript_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [chat.account_id, chat.id, chat.account_id, chat.id, str(Message.Role.USER),
                             TRANSCRIPT_LIMIT])
        rows = cursor.fetchall()
    message_columns, sender_columns = parts
    recent = []
    for row in rows:
        message = message_columns.load(row[:len(message_columns)])
        message.sender = sender_columns.load(row[len(message_columns):])
        recent.append(message)
    latest = next((message for message in recent if message.role == Message.Role.USER), None)
    if latest is None and recent:  # more than TRANSCRIPT_LIMIT replies written at the very same microsecond
        latest = message_latest_inbound(chat=chat)
    return latest, recent[::-1]


@cache
def _transcript_sql() -> tuple[str, tuple[Columns, Columns]]:
    parts = (Columns(Message, "m"), Columns(User, "u"))
    return (f"SELECT {parts[0].sql}, {parts[1].sql} FROM {table(Message)} m"
            f" LEFT JOIN {table(User)} u ON u.id = m.sender_id"
            f" WHERE m.account_id = %s AND m.chat_id = %s AND m.timestamp <= (SELECT i.timestamp"
            f" FROM {table(Message)} i WHERE i.account_id = %s AND i.chat_id = %s AND i.role = %s"
            f" ORDER BY i.timestamp DESC, i.id DESC LIMIT 1)"
            f" ORDER BY m.timestamp DESC, m.id DESC LIMIT %s"), parts


def chat_job_get(*, chat: Chat, job_id: str) -> ChatJob | None:
    return ChatJob.objects.filter(account_id=chat.account_id, chat=chat, id=job_id).first()


def chat_job_live(*, message: Message) -> ChatJob | None:
    """The message's job that has not failed (at most one: a database constraint), if any."""
    return ChatJob.objects.filter(account_id=message.account_id, message=message).exclude(
        status=ChatJob.Status.FAILED).first()


#: `GET /usage?groupBy=`: the EngineCall column each grouping is on.
USAGE_GROUPS = {"day": "day", "assistant": "assistant_id", "model": "model"}
_TOKEN_SUMS = {"inputTokens": "input_tokens", "outputTokens": "output_tokens",
               "cacheReadTokens": "cache_read_tokens", "cacheWriteTokens": "cache_write_tokens"}
_PRICE_OF = {"input_tokens": "input", "output_tokens": "output", "cache_write_tokens": "cacheWrite",
             "cache_read_tokens": "cacheRead"}


def _call_cost(prices: dict[str, dict[str, float]]) -> Case:
    """One call's cost in USD: its tokens times its model's prices (per million); unknown models cost 0."""
    per_model = [
        When(model=model, then=sum((F(column) * Value(table[price] / 1_000_000) for column, price in _PRICE_OF.items()),
                                   Value(0.0)))
        for model, table in prices.items()
    ]
    return Case(*per_model, default=Value(0.0), output_field=FloatField())


def usage_summary(*, account: Account, start: date, end: date, group_by: str,
                  prices: dict[str, dict[str, float]]) -> list[dict]:
    """The account's engine calls from `start` to `end` (UTC days, both included), aggregated per group in
    one SQL query whatever the range: counts by outcome, token sums, estimated cost, latency p50/p95."""
    outcome = EngineCall.Outcome
    calls = EngineCall.objects.filter(
        account=account, created_at__gte=datetime.combine(start, time.min, tzinfo=timezone.utc),
        created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc))
    if group_by == "day":
        calls = calls.annotate(day=TruncDate("created_at", tzinfo=timezone.utc))
    column = USAGE_GROUPS[group_by]
    return list(
        calls.values(column).order_by(column).annotate(
            calls=Count("id"),
            **{name: Coalesce(Sum(field), 0) for name, field in _TOKEN_SUMS.items()},
            estimatedCost=Coalesce(Sum(_call_cost(prices)), Value(0.0)),
            messagesProcessed=Count("id", filter=Q(chat__isnull=False) & ~Q(outcome=outcome.ERROR)),
            replies=Count("id", filter=Q(outcome=outcome.REPLIED)),
            ignored=Count("id", filter=Q(outcome=outcome.IGNORED)),
            suppressed=Count("id", filter=Q(outcome=outcome.SUPPRESSED)),
            tasksCreated=Coalesce(Sum("tasks_created"), 0),
            errors=Count("id", filter=Q(outcome=outcome.ERROR)),
            latencyMsP50=PercentileCont("latency_ms", 0.5),
            latencyMsP95=PercentileCont("latency_ms", 0.95),
        ))


def chat_thread(*, chat_id: str) -> tuple[str, str]:
    """`(platform, subject)` a message sent into the chat takes: those of its latest inbound message (the
    subject from the latest that had one, emails only). A chat with no inbound message is web chat."""
    latest = list(Message.objects.filter(chat_id=chat_id, role=Message.Role.USER).order_by("-timestamp", "-id")
                  .values_list("platform", "metadata__subject")[:20])
    if not latest:
        return Message.Platform.CHAT, ""
    return latest[0][0], next((subject for _, subject in latest if subject), "")
