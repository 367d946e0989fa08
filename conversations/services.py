"""Writes for chats and messages, and chat processing (the engine run under the per-chat lock).

Counters: every message write updates `message_count` / `last_message_at` in the same transaction,
with F() expressions for additions and a recount under the chat's row lock for deletions, so they
stay exact under concurrent writes.
"""
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, Max, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.events import event_emit, events_emit_many
from accounts.models import Account, Assistant, EventType, User
from directory.models import UserIdentifier
from directory.phones import handle_keys
from tskr.exceptions import ApplicationError, BadRequest, Conflict
from tskr.infra.locks import Lock, is_locked, try_acquire
from tskr.jsonlimits import ensure_json_within_limits
from tskr.scoping import scoped

from . import hooks, selectors
from .addressing import Addressing, analyse, handle
from .engine import (
    ChatContext,
    ChatResult,
    Deadline,
    EngineTimeout,
    EngineUnavailable,
    TranscriptEntry,
    agent_for,
    assistant_profile,
    get_engine,
    user_profile,
)
from .models import Chat, ChatJob, EngineCall, Message
from .usage import EngineCallRecorder

#: The contract's lock TTL ("Redis Distributed Locks": 30 s).
PROCESS_LOCK_TTL_MS = 30_000
#: The engine's whole run (attempts, timeouts, back-off) must end within this; the rest of the TTL
#: is for reading the context and writing the result, so the lock cannot expire under its owner.
ENGINE_BUDGET_SECONDS = 24.0
#: An asynchronous job waiting for a busy chat or a transient AI outage is tried this many times.
MAX_JOB_ATTEMPTS = 5
#: A worker running a job is killed at this hard limit (Celery `time_limit`); a job still `running`
#: STALE_JOB_SECONDS after its last update has lost its worker and is failed by the periodic sweep.
JOB_TIME_LIMIT_SECONDS = 60
STALE_JOB_SECONDS = 2 * JOB_TIME_LIMIT_SECONDS
#: A job still `queued` this long after its last change lost its Celery message and is sent again. Well
#: above the longest retry countdown (30 s), so a job waiting to be retried is not sent twice.
QUEUED_JOB_RESEND_SECONDS = 5 * 60
#: At most this many jobs are sent again per sweep (the rest at the next one).
RESEND_BATCH = 500


class ChatBusy(Conflict):
    error_code = "chat_processing"
    default_message = "Chat is already being processed"


class AssistantInactive(Conflict):
    error_code = "assistant_inactive"
    default_message = "The chat's assistant is inactive; activate it to have messages answered"


def _lock_name(chat: Chat) -> str:
    return f"chat-process:{chat.id}"


# -- chats ----------------------------------------------------------------------------------------
def _generated_title(assistant: Assistant) -> str:
    return f"Chat with {assistant.name} on {timezone.now():%b %d, %Y}"


def _title_from(content: str) -> str:
    first_line = next((line.strip() for line in content.splitlines() if line.strip()), "")
    return (first_line[:77].rstrip() + "…") if len(first_line) > 80 else first_line


def _api_data(instance: "Chat | Message | ChatJob | ProcessOutcome") -> dict:
    """A chat, message, job or processing's outcome as the API answers it: the `data` of its webhook
    events. A message's data adds `chatId`, which the API's message shape leaves to the URL."""
    from .api.serializers import (  # they import this module
        MESSAGE_ROWS,
        ChatJobSerializer,
        ChatSerializer,
        process_body,
    )

    if isinstance(instance, ProcessOutcome):
        return process_body(instance)
    if isinstance(instance, Message):  # the serializer's output without its per-call field setup
        return {**MESSAGE_ROWS.build_one(instance), "chatId": instance.chat_id}
    return (ChatSerializer if isinstance(instance, Chat) else ChatJobSerializer)(instance).data


@transaction.atomic
def chat_create(*, account: Account, actor: User | None, assistant: Assistant, title: str | None = None,
                metadata: dict | None = None) -> Chat:
    """A new chat; without a title one is generated, and replaced by the first user message's first line.
    An inactive assistant takes no new chats (400 `assistant_inactive`)."""
    if assistant.status != Assistant.Status.ACTIVE:
        raise BadRequest("The assistant is inactive and takes no new chats", error_code="assistant_inactive")
    chat = Chat.objects.create(account=account, assistant=assistant, created_by=actor,
                               title=title or _generated_title(assistant), title_generated=not title,
                               metadata=metadata or {})
    event_emit(account_id=account.id, type=EventType.CHAT_CREATED, data=_api_data(chat))
    return chat


@transaction.atomic
def chat_update(*, chat: Chat, title: str | None = None, status: str | None = None,
                metadata: dict | None = None) -> Chat:
    """Title, status (active/archived) and metadata (merged key by key into what is there)."""
    locked = Chat.objects.select_for_update().get(pk=chat.pk)
    if title:
        locked.title, locked.title_generated = title, False
    if status:
        locked.status = status
    if metadata is not None:
        locked.metadata = {**locked.metadata, **metadata}
        ensure_json_within_limits(locked.metadata, field="metadata")  # merging can grow it past the cap
    locked.save()
    return selectors.chat_list(queryset=scoped(Chat, account=chat.account)).get(pk=chat.pk)


@transaction.atomic
def chat_delete(*, chat: Chat) -> None:
    """Deletes the chat and its messages; tasks created from it stay (their source link is cleared)."""
    chat.delete()


# -- messages -------------------------------------------------------------------------------------
def _resolve_sender(*, account: Account, actor: User | None, role: str, metadata: dict) -> User | None:
    """The user who wrote an inbound message: `metadata.from` looked up among the account's identifiers
    (case-insensitively: a gateway may spell a Slack id differently; a phone on its E.164 form), else
    the caller (a user typing in a dashboard). Unknown senders stay None."""
    if role != Message.Role.USER:
        return None
    raw_from = metadata.get("from")
    if not raw_from:
        return actor
    sender = handle(raw_from)
    identifier = (UserIdentifier.objects.filter(account=account, user__isnull=False)
                  .filter(Q(value__iexact=sender) | Q(value__in=handle_keys(sender)))
                  .select_related("user").first())
    if identifier is not None:
        return identifier.user
    return User.objects.filter(account=account, email=sender).first()


def _message_create(*, chat: Chat, sender: User | None, posted_by: User | None, role: str, platform: str,
                    content: str, files: list | None = None, metadata: dict | None = None,
                    message_id: str | None = None, events: list[dict] | None = None) -> Message:
    """Insert a message and bump the chat's counters in one statement each (call inside a transaction).
    Its `chat.message.created` event is emitted, or added to `events` for a caller that emits its own
    events with it (one INSERT)."""
    ids = {"id": message_id} if message_id else {}
    message = Message.objects.create(**ids, account_id=chat.account_id, chat=chat, sender=sender, posted_by=posted_by,
                                     role=role, platform=platform, content=content, files=files or [],
                                     metadata=metadata or {})
    changes = {
        "message_count": F("message_count") + 1,
        "last_message_at": Greatest(Coalesce(F("last_message_at"), Value(message.timestamp)),
                                    Value(message.timestamp)),
        "updated_at": timezone.now(),
    }
    if role == Message.Role.USER and content.strip():
        changes["title"] = Case(When(title_generated=True, then=Value(_title_from(content))), default=F("title"))
        changes["title_generated"] = Value(False)
    Chat.objects.filter(pk=chat.pk).update(**changes)
    created = {"account_id": chat.account_id, "type": EventType.CHAT_MESSAGE_CREATED, "data": _api_data(message)}
    if events is None:
        event_emit(**created)
    else:
        events.append(created)
    return message


@transaction.atomic
def message_add(*, chat: Chat, actor: User | None, content: str, role: str = Message.Role.USER,
                platform: str = Message.Platform.CHAT, files: list | None = None,
                metadata: dict | None = None) -> Message:
    metadata = metadata or {}
    sender = _resolve_sender(account=chat.account, actor=actor, role=role, metadata=metadata)
    message = _message_create(chat=chat, sender=sender, posted_by=actor, role=role, platform=platform, content=content,
                              files=files, metadata=metadata)
    if role == Message.Role.USER:
        hooks.message_received(message=message)
    return message


def message_outbound_add(*, chat: Chat, message_id: str, platform: str, content: str,
                         metadata: dict) -> tuple[Message, bool]:
    """The assistant's message to send on a task's behalf (the integrator sends it), once per `message_id`:
    `(message, created)`; the same id again returns the stored message and writes nothing. Call inside a
    transaction."""
    existing = Message.objects.filter(pk=message_id, chat=chat).first()
    if existing is not None:
        return existing, False
    message = _message_create(chat=chat, sender=None, posted_by=None, role=Message.Role.ASSISTANT, platform=platform,
                              content=content, metadata=metadata, message_id=message_id)
    return message, True


@transaction.atomic
def message_update(*, message: Message, content: str | None = None, files: list | None = None,
                   metadata: dict | None = None) -> Message:
    """Content and files replaced when given; metadata merged key by key."""
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if content is not None:
        locked.content = content
    if files is not None:
        locked.files = files
    if metadata is not None:
        locked.metadata = {**locked.metadata, **metadata}
        ensure_json_within_limits(locked.metadata, field="metadata")  # merging can grow it past the cap
    locked.save()
    return locked


def _recount(chat: Chat) -> None:
    """Counters from the rows, under the chat's row lock taken before the delete (see module docstring)."""
    remaining = Message.objects.filter(chat=OuterRef("pk")).order_by().values("chat")
    Chat.objects.filter(pk=chat.pk).update(
        message_count=Coalesce(Subquery(remaining.annotate(n=Count("id")).values("n")), Value(0)),
        last_message_at=Subquery(remaining.annotate(last=Max("timestamp")).values("last")),
        updated_at=timezone.now(),
    )


@transaction.atomic
def message_delete(*, message: Message) -> None:
    Chat.objects.select_for_update().filter(pk=message.chat_id).first()
    Message.objects.filter(pk=message.pk).delete()
    _recount(message.chat)


@transaction.atomic
def messages_clear(*, chat: Chat) -> int:
    Chat.objects.select_for_update().filter(pk=chat.pk).first()
    deleted, _ = Message.objects.filter(chat=chat).delete()
    _recount(chat)
    return deleted


# -- processing -----------------------------------------------------------------------------------
@dataclass
class ProcessOutcome:
    """The result of processing. Stored as `record()` (on the answered message, for replays, and as a
    job's result); the API's body is `conversations.api.serializers.process_body`."""

    #: The reply sent (`{id, to, cc?, subject?, content, platform}`), or None when ignored or suppressed.
    message: dict | None = None
    task_ids: list[str] = field(default_factory=list)
    ignored: bool = False
    suppressed: bool = False
    #: The message had been processed already: this is that processing's stored outcome, nothing was created.
    replayed: bool = False
    #: The engine call's tokens (`EngineUsage.body()`): in the async job's result, never in the sync body;
    #: None when nothing was called (a replay).
    usage: dict | None = None
    #: The message continued a supervised task whose action is held as this approval (`message` is None).
    approval_id: str | None = None

    @classmethod
    def from_record(cls, stored: dict) -> "ProcessOutcome":
        return cls(**stored)

    @classmethod
    def replay_of(cls, stored: dict) -> "ProcessOutcome":
        """What a stored outcome answers when the same message is processed again: no engine call."""
        return replace(cls.from_record(stored), replayed=True, usage=None)

    def record(self) -> dict:
        return asdict(self)


def _ensure_assistant_answers(chat: Chat) -> None:
    """An inactive assistant answers nothing (a chat whose assistant was deleted is still answered, unsigned)."""
    if chat.assistant is not None and chat.assistant.status != Assistant.Status.ACTIVE:
        raise AssistantInactive()


def chat_process(*, chat: Chat, on_delta: Callable[[str], None] | None = None) -> ProcessOutcome:
    """Answer the chat's latest inbound message once; a new answer is made under the chat's processing lock.

    Steps: `chat_process_start` (a replay, or the lock taken), then `chat_process_finish`. With
    `on_delta`, the reply is handed to it in pieces as the engine writes it (see `chat_process_finish`).
    """
    return chat_process_finish(started=chat_process_start(chat=chat), on_delta=on_delta)


@dataclass
class StartedProcess:
    """A processing that passed every check: the chat's lock is held (`lock`), or it is a replay (`replay`).
    `transcript`: the messages the engine sees, up to `latest` (read with it under the lock)."""

    chat: Chat
    latest: Message
    lock: Lock | None = None
    replay: ProcessOutcome | None = None
    transcript: list[Message] = field(default_factory=list)


#: `chat_process_start` on a chat read without `selectors.chat_for_processing`'s annotation.
_NOT_READ = object()


def chat_process_start(*, chat: Chat) -> StartedProcess:
    """Everything that may refuse a processing, before the engine runs; the caller must then call
    `chat_process_finish`, which releases the lock.

    Steps: when the latest inbound message was processed already, return that processing's stored
    outcome (`replayed`), without the lock (a replay writes nothing, so a burst of retries all get it);
    take the lock without waiting (409 `chat_processing` when held); check again under the lock, reading
    the transcript with the message; refuse a chat with no user message (400 `nothing_to_process`) and
    an inactive assistant (409 `assistant_inactive`), releasing the lock.

    A chat read by `selectors.chat_for_processing` says whether its latest inbound message was processed,
    so the first check reads the message only for a replay.
    """
    if getattr(chat, "latest_inbound_processed_at", _NOT_READ) is not None:
        latest = selectors.message_latest_inbound(chat=chat)
        if latest is not None and latest.processed_at is not None:
            return StartedProcess(chat=chat, latest=latest, replay=ProcessOutcome.replay_of(latest.process_outcome))
    lock = try_acquire(_lock_name(chat), PROCESS_LOCK_TTL_MS)
    if lock is None:
        raise ChatBusy()
    try:
        latest, transcript = selectors.message_latest_inbound_and_transcript(chat=chat)
        if latest is None:
            raise BadRequest("The chat has no user message to answer", error_code="nothing_to_process")
        if latest.processed_at is not None:
            lock.release()
            return StartedProcess(chat=chat, latest=latest, replay=ProcessOutcome.replay_of(latest.process_outcome))
        _ensure_assistant_answers(chat)
    except BaseException:
        lock.release()
        raise
    return StartedProcess(chat=chat, latest=latest, lock=lock, transcript=transcript)


def chat_process_finish(*, started: StartedProcess, on_delta: Callable[[str], None] | None = None) -> ProcessOutcome:
    """Run the engine for a started processing and store its outcome; the lock is released, also on error.

    Steps: read the context; run the engine within ENGINE_BUDGET_SECONDS; confirm we still own the
    lock; claim the message, write tasks, the reply and the stored outcome in one transaction; release
    the lock (compare-and-delete, so only our own).

    `on_delta` receives the reply in pieces, which joined are the stored reply's content. They are
    passed on as the engine writes them when the message can be neither ignored nor suppressed;
    otherwise (an email, a group message that does not address the assistant) they are held until the
    outcome is written, and dropped when no reply is sent. A replay hands over its stored reply whole.
    """
    if started.replay is not None:
        if on_delta is not None and started.replay.message:
            on_delta(started.replay.message["content"])
        return started.replay
    chat = started.chat
    try:
        with EngineCallRecorder(account_id=chat.account_id, assistant=chat.assistant, chat=chat) as call:
            outcome = _process_locked(chat=chat, latest=started.latest, transcript=started.transcript,
                                      lock=started.lock, on_delta=on_delta, call=call)
            call.finished(EngineCall.Outcome.IGNORED if outcome.ignored else EngineCall.Outcome.SUPPRESSED
                          if outcome.suppressed else EngineCall.Outcome.REPLIED, tasks_created=len(outcome.task_ids))
            if call.model is not None:
                outcome.usage = call.usage.body()
            return outcome
    finally:
        started.lock.release()


def _process_locked(*, chat: Chat, latest: Message, transcript: list[Message], lock: Lock,
                    on_delta: Callable[[str], None] | None, call: EngineCallRecorder) -> ProcessOutcome:
    assistant = chat.assistant
    profile = assistant_profile(assistant)
    addressing = analyse(latest, assistant_email=profile.email, assistant_name=profile.name)
    engine = get_engine()
    context = ChatContext(
        assistant=profile, agent=agent_for(assistant), platform=latest.platform,
        # the sender's memories only when they posted the message themselves (not a teammate naming them)
        user=user_profile(latest.sender, reader_id=latest.posted_by_id),
        transcript=tuple(_entry(message) for message in transcript),
        latest=_entry(latest), audience=addressing.audience, directly_addressed=addressing.directly_addressed,
        subject=addressing.subject, now=timezone.now(),
        open_tasks=tuple(task for found in hooks.open_tasks(account=chat.account, chat=chat,
                                                            with_candidates=engine.uses_candidates)
                         for task in found),
    )
    deadline = Deadline(ENGINE_BUDGET_SECONDS)
    held: list[str] = []
    if on_delta is None:
        result = call.run(engine, context, deadline=deadline)
    else:
        live = latest.platform != Message.Platform.EMAIL and not context.may_ignore
        result = call.run(engine, context, deadline=deadline, on_text=on_delta if live else held.append)
    if not lock.extend():
        raise Conflict("Processing outlived the chat's lock; nothing was written. Retry.", error_code="lock_expired")
    outcome = _write_outcome(chat=chat, latest=latest, addressing=addressing, result=result,
                             ignore=result.ignored and context.may_ignore)
    if held and outcome.message and not outcome.replayed:
        for piece in held:
            on_delta(piece)
    return outcome


def _entry(message: Message) -> TranscriptEntry:
    author = (message.metadata or {}).get("from") or (message.sender.email if message.sender else "")
    return TranscriptEntry(role=message.role, content=message.content, author=str(author),
                           timestamp=message.timestamp)


class _AnsweredMeanwhile(Exception):
    """Another run stored its outcome for the message first: roll back everything this one wrote."""


def _write_outcome(*, chat: Chat, latest: Message, addressing: Addressing, result: ChatResult,
                   ignore: bool) -> ProcessOutcome:
    """Write what the engine decided and store the outcome on the message: all or nothing, once.

    The outcome is stored by a conditional UPDATE (`processed_at` still empty), the database's own guard
    behind the lock: a run whose lock expired after its last check waits there for the other run to
    commit, finds the message answered, rolls back what it wrote and replays the stored outcome
    instead of a second answer.
    """
    events: list[dict] = []  # `task.created` and the reply's `chat.message.created`, emitted with `chat.processed`
    try:
        with transaction.atomic():
            outcome = ProcessOutcome(ignored=True) if ignore else _answer(chat=chat, latest=latest,
                                                                         addressing=addressing, result=result,
                                                                         events=events)
            if not Message.objects.filter(pk=latest.pk, processed_at__isnull=True).update(
                    processed_at=timezone.now(), process_outcome=outcome.record()):
                raise _AnsweredMeanwhile()
            # `chat.processed`: the process body with the chat, the inbound message it answered and the usage
            events_emit_many([*events, {
                "account_id": chat.account_id, "type": EventType.CHAT_PROCESSED,
                "data": {**_api_data(outcome), "chatId": chat.id, "messageId": latest.id,
                         "usage": result.usage.body()}}])
            return outcome
    except _AnsweredMeanwhile:
        stored = Message.objects.filter(pk=latest.pk).values_list("process_outcome", flat=True).first()
        if stored is None:
            raise Conflict("The message being answered was deleted meanwhile; nothing was written",
                           error_code="concurrent_change") from None
        return ProcessOutcome.replay_of(stored)


def _answer(*, chat: Chat, latest: Message, addressing: Addressing, result: ChatResult,
            events: list[dict]) -> ProcessOutcome:
    """Tasks, then the reply (unless suppressed); inside `_write_outcome`'s transaction.

    Tasks belong to the message's sender, or, when the sender is not a user of the account (an
    outside address), to the user who posted the message. Email replies are suppressed when tasks
    were created (the tasks carry the conversation on), except a clarification request, which must
    reach the sender (and only the sender).
    """
    if result.step is not None and (continued := _continue(chat=chat, latest=latest, result=result)) is not None:
        return continued
    tasks = [  # tasks_app creates them (`hooks.task_requested`): it sits above conversations
        task
        for draft in result.tasks
        for task in hooks.task_requested(
            account=chat.account, title=draft.title, description=draft.description, type=str(draft.type),
            status=str(draft.status), owner=latest.sender or latest.posted_by, assistant=chat.assistant,
            source_chat=chat, actor_assistant=chat.assistant, events=events,
            metadata={"sourceMessageId": latest.id, **({"requestedStart": draft.start.isoformat()}
                                                       if draft.start else {})})
    ]
    task_ids = [task.id for task in tasks]
    clarifying = result.needs_clarification
    if latest.platform == Message.Platform.EMAIL and tasks and not clarifying:
        return ProcessOutcome(task_ids=task_ids, suppressed=True)
    recipients = addressing.reply_recipients(sender_only=clarifying)
    assistant_from = chat.assistant.email if chat.assistant else ""
    stored = _message_create(chat=chat, sender=None, posted_by=None, role=Message.Role.ASSISTANT,
                             platform=latest.platform, content=result.reply,
                             metadata={"from": assistant_from, **recipients, "inReplyTo": latest.id,
                                       "taskIds": task_ids}, events=events)
    return ProcessOutcome(message={"id": stored.id, **recipients, "content": stored.content,
                                   "platform": stored.platform}, task_ids=task_ids)


def _continue(*, chat: Chat, latest: Message, result: ChatResult) -> ProcessOutcome | None:
    """The message continues an open task: its agent acts (`hooks.task_step`, tasks_app) and the answer is
    what the agent sent, or the approval holding it. None when the step names no open task of this chat
    (a model's mistake): the engine's reply, if any, is then answered as usual."""
    done = [found for found in hooks.task_step(account=chat.account, chat=chat, message=latest, step=result.step)
            if found is not None]
    if not done:
        return None if result.reply else ProcessOutcome()
    return ProcessOutcome(message=done[0].message, task_ids=[done[0].task_id], approval_id=done[0].approval_id)


# -- asynchronous processing ----------------------------------------------------------------------
@transaction.atomic
def chat_process_enqueue(*, chat: Chat, actor: User | None) -> ChatJob:
    """Queue `chat_process` for a worker, once per inbound message.

    Steps: the latest inbound message's job that has not failed (queued, running or succeeded) is
    returned as it is; 409 `assistant_inactive` for an inactive assistant; a message answered
    already (synchronously) gets a job that is already succeeded, its result the replayed outcome;
    otherwise 409 `chat_processing` at once when the chat is being processed right now, else a new
    queued job. Concurrent callers share one job: the unique constraint on a message's live job
    fails all inserts but one, and the losers return the winner's job.
    """
    from .tasks import process_chat_job

    latest = selectors.message_latest_inbound(chat=chat)
    if latest is not None and (existing := selectors.chat_job_live(message=latest)) is not None:
        return existing
    _ensure_assistant_answers(chat)
    job = ChatJob(account_id=chat.account_id, chat=chat, message=latest, requested_by=actor)
    if latest is not None and latest.processed_at is not None:
        job.status, job.finished_at = ChatJob.Status.SUCCEEDED, timezone.now()
        job.result = ProcessOutcome.replay_of(latest.process_outcome).record()
    elif is_locked(_lock_name(chat)):
        raise ChatBusy()
    try:
        with transaction.atomic():
            job.save(force_insert=True)
    except IntegrityError:
        # Another caller queued this message's job first; None only if that job already failed.
        if (winner := selectors.chat_job_live(message=latest)) is None:
            raise ChatBusy() from None
        return winner
    if job.status == ChatJob.Status.QUEUED:
        transaction.on_commit(lambda: process_chat_job.delay(job.id, chat.account_id))
    return job


class ChatJobDeferred(Exception):
    """Transient: the job's chat was busy or the engine out; the job is queued again, for a later attempt
    (the task's `autoretry_for`)."""


def chat_job_run(*, job_id: str, account_id: str) -> None:
    """Run a queued job once; raises ChatJobDeferred when it should be tried again later (chat busy, AI
    outage) and attempts are left.

    The job is claimed with a conditional UPDATE (queued -> running): a redelivered message finds it
    claimed and does nothing. Its result is the synchronous body, `ok` included.
    """
    claimed = ChatJob.objects.filter(id=job_id, account_id=account_id, status=ChatJob.Status.QUEUED).update(
        status=ChatJob.Status.RUNNING, attempts=F("attempts") + 1, updated_at=timezone.now())
    if not claimed:
        return
    job = ChatJob.objects.select_related("chat__account", "chat__assistant").get(id=job_id, account_id=account_id)
    try:
        outcome = chat_process(chat=job.chat)
    except (ChatBusy, EngineUnavailable, EngineTimeout) as exc:
        if job.attempts < MAX_JOB_ATTEMPTS:
            ChatJob.objects.filter(id=job.id).update(status=ChatJob.Status.QUEUED, updated_at=timezone.now())
            raise ChatJobDeferred(str(exc)) from exc
        _job_finish(job, error=exc)
        return
    except ApplicationError as exc:
        _job_finish(job, error=exc)
        return
    except Exception:
        _job_finish(job, error=ApplicationError("Internal server error", error_code="internal_error"))
        raise
    _job_finish(job, result=outcome.record())


@transaction.atomic
def _job_finish(job: ChatJob, *, result: dict | None = None, error: ApplicationError | None = None) -> None:
    ChatJob.objects.filter(id=job.id).update(
        status=ChatJob.Status.FAILED if error else ChatJob.Status.SUCCEEDED, result=result,
        error={"error": error.message, "error_code": error.error_code} if error else None,
        finished_at=timezone.now(), updated_at=timezone.now())
    job.refresh_from_db()
    event_emit(account_id=job.account_id, type=EventType.CHAT_JOB_FAILED if error else EventType.CHAT_JOB_SUCCEEDED,
               data=_api_data(job))


def chat_jobs_fail_stale() -> int:
    """Fail the jobs whose worker died mid-run (killed at the time limit, machine lost): without this
    they would stay `running` forever and pollers would wait for nothing. Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        stale = list(ChatJob.objects.select_for_update().filter(
            status=ChatJob.Status.RUNNING, updated_at__lt=now - timedelta(seconds=STALE_JOB_SECONDS)))
        ChatJob.objects.filter(id__in=[job.id for job in stale]).update(
            status=ChatJob.Status.FAILED, finished_at=now, updated_at=now,
            error={"error": "The worker running this job stopped before it finished", "error_code": "job_lost"})
        for job in stale:
            job.refresh_from_db()
            event_emit(account_id=job.account_id, type=EventType.CHAT_JOB_FAILED, data=_api_data(job))
    return len(stale)


def chat_jobs_resend_queued() -> int:
    """Send again the jobs still `queued` QUEUED_JOB_RESEND_SECONDS after their last change: their Celery
    message was lost (a Redis restart without persistence, a flushed queue) and no worker would ever
    run them. Returns how many were sent.

    Sending twice is safe: `chat_job_run` claims a job with a conditional UPDATE, so whichever message
    arrives second finds it claimed and does nothing. Each job's `updated_at` is moved forward by a
    conditional UPDATE before it is sent, so overlapping sweeps send it once, and the next resend
    waits for another full interval.
    """
    from .tasks import process_chat_job

    now = timezone.now()
    stale = ChatJob.objects.filter(status=ChatJob.Status.QUEUED,
                                   updated_at__lt=now - timedelta(seconds=QUEUED_JOB_RESEND_SECONDS))
    sent = 0
    for job_id, account_id in stale.order_by("updated_at").values_list("id", "account_id")[:RESEND_BATCH]:
        if stale.filter(id=job_id).update(updated_at=now):
            process_chat_job.delay(job_id, account_id)
            sent += 1
    return sent
