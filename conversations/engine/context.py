"""Building engine contexts from database rows: the only part of the engine that reads the ORM."""
from accounts.models import Assistant, User
from admin_catalog.selectors import AgentConfig, agent_config_for_assistant
from directory import preferences as skill_preferences
from directory.models import Memory, UserIdentifier
from directory.selectors import identifier_list, memory_list, preferences_get
from tskr.scoping import scoped

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


def agent_for(assistant: Assistant | None) -> AgentConfig | None:
    """The agent driving an assistant (its own, else the catalog's default); None: built-in settings."""
    return agent_config_for_assistant(assistant)


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
    the prompt carries only what the user actually chose."""
    account = user.account_id
    memories = tuple(f"{memory.title}: {memory.content}"[:MEMORY_CHARS]
                     for memory in memory_list(queryset=scoped(Memory, account=account, user=user))[:MEMORY_LIMIT]
                     ) if with_memories else ()
    identifier = (identifier_list(queryset=scoped(UserIdentifier, account=account, user=user))
                  .filter(preferences__isnull=False)
                  .order_by("-primary", "created_at").first())
    stored = preferences_get(identifier=identifier) if identifier else None
    return memories, skill_preferences.all_view(stored.data) if stored else {}
