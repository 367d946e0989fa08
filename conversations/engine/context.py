"""Building engine contexts from database rows: the only part of the engine that reads the ORM."""
import json
import time

from django.conf import settings
from django.db import connection, transaction

from accounts.models import Assistant, User
from admin_catalog.selectors import AgentConfig, agent_config_for_assistant
from directory import preferences as skill_preferences
from directory.models import IdentifierPreferences, Memory, UserIdentifier

from .types import AssistantProfile, UserProfile

#: The newest memories go into the prompt; a bounded number keeps the prompt (and its cost) bounded.
MEMORY_LIMIT = 20
MEMORY_CHARS = 300


def assistant_profile(assistant: Assistant | None) -> AssistantProfile:
    """The persona of an assistant; a chat whose assistant was deleted is answered by a neutral one."""
    if assistant is None:
        return AssistantProfile(name="Assistant", email="")
    return AssistantProfile(name=assistant.name, email=assistant.email.lower(), personality=assistant.personality,
                            signature=assistant.signature, writing_style=dict(assistant.writing_style or {}))


class AgentConfigCache:
    """Process-local cache of `agent_config_for_assistant`, by the assistant's agent id (None: the default).

    Every processing reads its assistant's agent (a query, two with its skills), and agents are a small
    platform-wide catalog, rarely edited. An entry is trusted for TSKR_CERTIFICATE_CACHE_SECONDS, so an
    edit made by another server process takes effect within that time, as for certificates and delegated
    users; this process drops every entry when an agent or a skill is saved or deleted or an agent's
    skills change here (`forget_all`, connected in `ConversationsConfig.ready`), and again at commit (a
    request may have cached the old rows meanwhile). An assistant's own choice of agent is read with the
    assistant on every processing, so changing it takes effect at once everywhere.
    """

    def __init__(self):
        self._entries: dict[str | None, tuple[AgentConfig | None, float]] = {}

    def get(self, assistant: Assistant | None) -> AgentConfig | None:
        key = assistant.agent_id if assistant is not None else None
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and now - cached[1] < settings.TSKR_CERTIFICATE_CACHE_SECONDS:
            return cached[0]
        config = agent_config_for_assistant(assistant)
        self._entries[key] = (config, now)
        return config

    def forget_all(self, **_signal) -> None:
        self._entries.clear()
        transaction.on_commit(self._entries.clear)

    def clear(self) -> None:
        self._entries.clear()


agent_configs = AgentConfigCache()


def agent_for(assistant: Assistant | None) -> AgentConfig | None:
    """The agent driving an assistant (its own, else the catalog's default); None: built-in settings."""
    return agent_configs.get(assistant)


def user_profile(user: User | None, *, reader_id: str | None) -> UserProfile | None:
    """The human the engine works for, with their skill preferences, and their memories only when the
    user who asked for this run (`reader_id`, who reads its reply) is that human: memories are private."""
    if user is None:
        return None
    memories, preferences = _memories_and_preferences(user, with_memories=reader_id == user.pk)
    return UserProfile(name=user.full_name, email=user.email, timezone=user.timezone, memories=memories,
                       preferences=preferences)


def _memories_and_preferences(user: User, *, with_memories: bool) -> tuple[tuple[str, ...], dict]:
    """The user's newest memories ("title: content", trimmed), and the skill preferences stored on their
    identifiers (the primary one first; defaults filled in). Nothing stored: no preferences at all, so
    the prompt carries only what the user actually chose.

    One statement for both, written as SQL: each processing reads them, and as two ORM queries (memory
    rows, the identifier, then its preferences) they were the dearest part of building the context. The
    preferences come on every row of the user's memories (or on one row of none)."""
    memory, identifier = Memory._meta.db_table, UserIdentifier._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT preferences.data, memories.title, memories.content FROM (SELECT 1) AS one "
            f"LEFT JOIN (SELECT p.data FROM {IdentifierPreferences._meta.db_table} p "
            f"JOIN {identifier} i ON i.id = p.user_identifier_id WHERE i.account_id = %s AND i.user_id = %s "
            f'ORDER BY i."primary" DESC, i.created_at LIMIT 1) AS preferences ON 1 = 1 '
            f"LEFT JOIN (SELECT title, content, created_at, id FROM {memory} WHERE account_id = %s AND user_id = %s "
            f"ORDER BY created_at DESC, id DESC LIMIT %s) AS memories ON 1 = 1 "
            f"ORDER BY memories.created_at DESC, memories.id DESC",
            [user.account_id, user.pk, user.account_id, user.pk, MEMORY_LIMIT if with_memories else 0])
        rows = cursor.fetchall()
    memories = tuple(f"{title}: {content}"[:MEMORY_CHARS] for _, title, content in rows if title is not None)
    stored = rows[0][0]
    if isinstance(stored, str):  # jsonb and SQLite's JSON both arrive as text
        stored = json.loads(stored)
    return memories, skill_preferences.all_view(stored) if stored is not None else {}
