"""Building engine contexts from database rows: the only part of the engine that reads the ORM."""
from accounts.models import Assistant, User
from admin_catalog.selectors import AgentConfig, agent_config_for_assistant

from .types import AssistantProfile, UserProfile


def assistant_profile(assistant: Assistant | None) -> AssistantProfile:
    """The persona of an assistant; a chat whose assistant was deleted is answered by a neutral one."""
    if assistant is None:
        return AssistantProfile(name="Assistant", email="")
    return AssistantProfile(name=assistant.name, email=assistant.email.lower(), personality=assistant.personality,
                            signature=assistant.signature, writing_style=dict(assistant.writing_style or {}))


def agent_for(assistant: Assistant | None) -> AgentConfig | None:
    """The agent driving an assistant (its own, else the catalog's default); None: built-in settings."""
    return agent_config_for_assistant(assistant)


def user_profile(user: User | None) -> UserProfile | None:
    """The human the engine works for, with their memories and skill preferences."""
    if user is None:
        return None
    memories, preferences = _memories_and_preferences(user)
    return UserProfile(name=user.full_name, email=user.email, timezone=user.timezone, memories=memories,
                       preferences=preferences)


def _memories_and_preferences(user: User) -> tuple[tuple[str, ...], dict]:
    """The single call site for the directory app's memories and preferences of a user."""
    return (), {}
