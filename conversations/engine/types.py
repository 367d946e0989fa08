"""What goes into the assistant engine and what comes out: plain frozen dataclasses, no ORM rows.

Callers (chat processing here, task processing in tasks_app) build a context from the database,
hand it to `get_engine()`, and write the result back themselves. Engines never touch the database,
so a failed model call can never leave half-written state.
"""
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models

from admin_catalog.selectors import AgentConfig


class Skill(models.TextChoices):
    """The skills an engine can turn a request into; a task's `type` is the skill's value."""

    SCHEDULING = "scheduling"
    REMINDERS = "reminders"
    FOLLOWUPS = "followups"
    TRAVEL = "travel"


ALL_SKILLS = frozenset(Skill.values)


class DraftStatus(models.TextChoices):
    """The statuses an engine may give a task it creates (a subset of tasks_app's Task.Status)."""

    PENDING = "pending"
    NEEDS_CLARIFICATION = "needs_clarification"


class TaskOutcome(models.TextChoices):
    """The statuses an engine may move an existing task to (None in `TaskResult` leaves it unchanged)."""

    IN_PROGRESS = "in_progress"
    NEEDS_CLARIFICATION = "needs_clarification"
    COMPLETED = "completed"


@dataclass(frozen=True)
class AssistantProfile:
    """The persona the engine writes as."""

    name: str
    email: str
    personality: str = ""
    signature: str = ""
    #: {"professionalism": 0-10, "humor": 0-10, "emojiUse": 0-10}; missing keys mean "moderate" (5).
    writing_style: dict = field(default_factory=dict)

    def style(self, key: str) -> int:
        value = self.writing_style.get(key)
        return value if isinstance(value, int) else 5


@dataclass(frozen=True)
class UserProfile:
    """The human the engine works for (the sender's user, or a task's owner), with what it knows of them."""

    name: str
    email: str
    timezone: str = ""
    #: Short facts the user asked the assistant to remember, most relevant first.
    memories: tuple[str, ...] = ()
    #: Per-skill preferences, e.g. {"scheduling": {"defaultDuration": 30}}.
    preferences: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TranscriptEntry:
    """One message of a conversation (or one activity of a task), oldest first."""

    role: str  # "user" or "assistant"
    content: str
    author: str = ""  # email, phone or display name of who wrote it
    timestamp: datetime | None = None


class StepAction(models.TextChoices):
    """What an engine decided a message does to an open task of its chat (`TaskStep.action`)."""

    #: The message picks one of the task's numbered slots.
    BOOK_SLOT = "book_slot"
    #: The message names another precise time: booked when everyone is free, else new slots.
    BOOK_TIME = "book_time"
    #: The message turns the slots down ("none of these work"): propose the next ones.
    PROPOSE_TIMES = "propose_times"
    #: The owner must say something (a wider window): ask them, and only them.
    ASK_OWNER = "ask_owner"
    #: The message answers what the task waited for without naming a slot or time: run its step again.
    CONTINUE = "continue_task"
    #: The owner calls the task off ("never mind", "you can stop"): it is completed, what it planned
    #: (a reminder, follow-ups, a proposal, a booked meeting) withdrawn.
    CANCEL = "cancel"
    #: The meeting moves: to `start` when the message names a precise time, else to the days it names
    #: (`text`), else to the next free times. A booked meeting is rescheduled, an open request re-proposed.
    RESCHEDULE = "reschedule"
    #: The owner gives what a trip waited for (its dates, in `text`): the brief is updated, the task pending.
    UPDATE_BRIEF = "update_brief"


@dataclass(frozen=True)
class SlotOption:
    """A numbered time offered to the participants (or to the model, as a candidate)."""

    number: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class OpenTask:
    """A task of the chat still in hand (pending, in progress or waiting for clarification), or a
    scheduling task whose booked meeting is still ahead, as the engine sees it to decide whether a
    message continues it."""

    id: str
    type: str
    title: str
    status: str
    #: "reply" (the participants' answer to proposed slots), "owner", "approval", or "" (nothing yet).
    waiting_for: str = ""
    #: The slots proposed and still open, numbered as the participants saw them.
    slots: tuple[SlotOption, ...] = ()
    #: The zone the slots were written in, in which a reply's times are read (IANA name).
    timezone: str = "UTC"
    #: Free times not yet proposed, numbered after `slots`: candidates computed before a model call.
    candidates: tuple[SlotOption, ...] = ()
    #: The owner turned a booking down: unless the next reply picks a remaining slot or names a time,
    #: other times are proposed.
    propose_next: bool = False
    #: The meeting the task booked, still ahead (the task itself may be completed): it may be moved or
    #: called off from the chat.
    booked: SlotOption | None = None


@dataclass(frozen=True)
class TaskStep:
    """An engine's decision that the latest message continues one open task of its chat. The agent
    validates it (a slot number must be one of the task's, a time must be free) before acting."""

    task_id: str
    action: str
    slot: int | None = None
    start: datetime | None = None
    #: For ASK_OWNER: the question; otherwise the model's note, if any.
    text: str = ""


@dataclass(frozen=True)
class ChatContext:
    """Everything the engine needs to answer the latest inbound message of a chat."""

    assistant: AssistantProfile
    #: The assistant's agent (or the default agent); None means built-in settings and all skills.
    agent: AgentConfig | None
    #: The sender's user when known.
    user: UserProfile | None
    platform: str
    #: The conversation so far, oldest first; its last entry is `latest`.
    transcript: tuple[TranscriptEntry, ...]
    latest: TranscriptEntry
    #: Humans the latest message reached (sender, to, cc, participants), the assistant excluded.
    audience: int
    #: The latest message names the assistant or its email, or has it in `to`: always answer it.
    directly_addressed: bool
    subject: str = ""
    now: datetime | None = None
    #: The chat's open tasks, newest first: a message may continue one of them.
    open_tasks: tuple[OpenTask, ...] = ()

    @property
    def skills(self) -> frozenset[str]:
        """Skills that may create tasks: the agent's usable skills among ours, else all of ours."""
        return ALL_SKILLS if self.agent is None else self.agent.skill_names & ALL_SKILLS

    @property
    def may_ignore(self) -> bool:
        """Only group messages that do not address the assistant may be left unanswered."""
        return self.audience > 1 and not self.directly_addressed


@dataclass(frozen=True)
class TaskDraft:
    """A task the engine wants created; the caller creates it (through tasks_app.services.task_create)."""

    title: str
    type: str
    status: str = DraftStatus.PENDING
    description: str = ""
    #: For a scheduling request: a fixed time the request names (the model read it), else None (the
    #: agent reads the description).
    start: datetime | None = None


@dataclass(frozen=True)
class EngineUsage:
    """The tokens one engine call used, as the provider reports them (all zero for the local engine).

    Cache writes and reads are prompt-caching tokens, counted apart from `input_tokens` by the provider.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    def body(self) -> dict:
        """The API's `usage` object (async job results, the chat.processed webhook)."""
        return {"inputTokens": self.input_tokens, "outputTokens": self.output_tokens,
                "cacheReadTokens": self.cache_read_tokens, "cacheWriteTokens": self.cache_write_tokens}


@dataclass(frozen=True)
class ChatResult:
    """The engine's answer to a chat: ignore it, or reply and maybe create tasks."""

    ignored: bool = False
    reply: str = ""
    tasks: tuple[TaskDraft, ...] = ()
    usage: EngineUsage = EngineUsage()
    #: The message continues an open task of the chat: the agent writes what is sent, from what it
    #: validated. `reply` and `tasks` are then what to answer if the agent turns the step down (the task
    #: is not this chat's, or the sender may not change it).
    step: TaskStep | None = None

    @property
    def needs_clarification(self) -> bool:
        return any(task.status == DraftStatus.NEEDS_CLARIFICATION for task in self.tasks)


@dataclass(frozen=True)
class TaskContext:
    """Everything the engine needs to work on an existing task (`POST /tasks/:id/process`)."""

    assistant: AssistantProfile
    agent: AgentConfig | None
    #: The task's owner when known.
    user: UserProfile | None
    title: str
    description: str
    type: str
    status: str
    #: The task's history (activities), oldest first.
    history: tuple[TranscriptEntry, ...] = ()
    #: The new message from the user, when the call carries one.
    message: str = ""
    now: datetime | None = None


@dataclass(frozen=True)
class FollowupContext:
    """What the engine needs to write a follow-up to someone who has not answered (`write_followup`)."""

    assistant: AssistantProfile
    agent: AgentConfig | None
    #: The task's owner, on whose behalf the assistant follows up.
    user: UserProfile | None
    #: The handle (email, phone...) of the person followed up with.
    person: str
    title: str
    description: str
    #: The chat's recent messages, oldest first: what the follow-up refers to.
    thread: tuple[TranscriptEntry, ...] = ()
    #: 1 for the first follow-up, 2 for the second...
    attempt: int = 1
    now: datetime | None = None


@dataclass(frozen=True)
class TaskResult:
    """The engine's reply on a task and, when it decided so, the task's new status."""

    reply: str
    new_status: str | None = None
    usage: EngineUsage = EngineUsage()
