"""Reads of the platform-wide catalog. No `account` argument: the catalog is shared by every account."""
from dataclasses import dataclass
from typing import Protocol

from django.db.models import Prefetch, QuerySet

from tskr.exceptions import BadRequest

from .models import Agent, Skill, SkillCategory, TaskTemplate

#: Skills an agent can use: "coming_soon" and "disabled" skills are listed in the catalog but do nothing.
USABLE_SKILL_STATUSES = (Skill.Status.AVAILABLE, Skill.Status.BETA)


@dataclass(frozen=True)
class AgentConfig:
    """What the assistant engine needs of an agent, detached from the ORM (safe to pass around and cache)."""

    id: str
    name: str
    model: str
    system_prompt: str
    temperature: float
    max_tokens: int
    skill_names: frozenset[str]

    def allows(self, skill_name: str) -> bool:
        return skill_name in self.skill_names


def _usable_skills_prefetch() -> Prefetch:
    return Prefetch("skills", queryset=Skill.objects.filter(status__in=USABLE_SKILL_STATUSES).only("id", "name"),
                    to_attr="usable_skills")


def agent_config(agent: Agent) -> AgentConfig:
    """Freeze an agent; uses the `usable_skills` prefetch when present, else one query."""
    skills = getattr(agent, "usable_skills", None)
    if skills is None:
        skills = agent.skills.filter(status__in=USABLE_SKILL_STATUSES).only("name")
    return AgentConfig(id=agent.id, name=agent.name, model=agent.model, system_prompt=agent.system_prompt,
                       temperature=agent.temperature, max_tokens=agent.max_tokens,
                       skill_names=frozenset(skill.name for skill in skills))


class HasAgent(Protocol):
    """An accounts Assistant, as far as the catalog reads it (the catalog sits below accounts)."""

    agent_id: str | None


def agent_config_for_assistant(assistant: HasAgent | None) -> AgentConfig | None:
    """The agent that drives an assistant: its own agent if set and active, else the default agent, else None.

    An inactive agent on an assistant falls back to the default rather than disabling the assistant, so
    switching an agent off never leaves customers' assistants without a brain. None means "no catalog
    configuration": the engine then uses its built-in settings. Two queries (agent, its usable skills).
    """
    active = Agent.objects.filter(status=Agent.Status.ACTIVE).prefetch_related(_usable_skills_prefetch())
    agent = None
    if assistant is not None and assistant.agent_id:
        agent = active.filter(id=assistant.agent_id).first()
    if agent is None:
        agent = active.filter(is_default=True).first()
    return agent_config(agent) if agent is not None else None


def skill_category_list(*, queryset: QuerySet[SkillCategory]) -> QuerySet[SkillCategory]:
    return queryset.order_by("sort_order", "name", "id")


def skill_list(*, queryset: QuerySet[Skill]) -> QuerySet[Skill]:
    return queryset.select_related("category").order_by("name", "id")


def task_template_list(*, queryset: QuerySet[TaskTemplate]) -> QuerySet[TaskTemplate]:
    return queryset.select_related("skill").order_by("name", "id")


def agent_list(*, queryset: QuerySet[Agent]) -> QuerySet[Agent]:
    return queryset.prefetch_related(
        Prefetch("skills", queryset=Skill.objects.order_by("name"))).order_by("name", "id")


def agent_get_assignable(*, agent_id: str) -> Agent:
    """An agent an assistant may be given: it exists and is active (400 `unknown_agent` / `agent_inactive`).

    Agents are platform-wide, so any account may pick any active agent by id.
    """
    agent = Agent.objects.filter(id=agent_id).first()
    if agent is None:
        raise BadRequest(f"No agent with id {agent_id}", error_code="unknown_agent",
                         details={"agentId": ["Unknown agent"]})
    if agent.status != Agent.Status.ACTIVE:
        raise BadRequest(f"Agent {agent_id} is inactive", error_code="agent_inactive",
                         details={"agentId": ["This agent is inactive"]})
    return agent
