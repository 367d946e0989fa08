import dataclasses

import pytest

from accounts.models import Assistant
from admin_catalog.models import Agent, Skill
from admin_catalog.selectors import AgentConfig, agent_config_for_assistant

from .factories import AgentFactory, SkillFactory


@pytest.fixture
def assistant(alice):
    return Assistant.objects.create(account=alice.account, name="Ava", email="ava@acme.test")


@pytest.fixture
def skills(db):
    return {status: SkillFactory(name=f"skill-{status}", status=status) for status in Skill.Status.values}


@pytest.mark.smoke
def test_assistant_without_agent_gets_the_default_agent(assistant, skills):
    default = AgentFactory(name="Default", is_default=True, model="m-1", system_prompt="Be brief.",
                           temperature=0.5, max_tokens=2048, skills=list(skills.values()))
    config = agent_config_for_assistant(assistant)
    assert config == AgentConfig(id=default.id, name="Default", model="m-1", system_prompt="Be brief.",
                                 temperature=0.5, max_tokens=2048,
                                 skill_names=frozenset({"skill-available", "skill-beta"}))


def test_only_available_and_beta_skills_are_enabled(assistant, skills):
    assistant.agent = AgentFactory(skills=list(skills.values()))
    assistant.save()
    config = agent_config_for_assistant(assistant)
    assert config.allows("skill-available") and config.allows("skill-beta")
    assert not config.allows("skill-coming_soon") and not config.allows("skill-disabled")


def test_assistant_agent_wins_over_the_default(assistant):
    AgentFactory(name="Default", is_default=True)
    own = AgentFactory(name="Travel desk", skills=[SkillFactory(name="travel")])
    assistant.agent = own
    assistant.save()
    config = agent_config_for_assistant(assistant)
    assert config.id == own.id and config.skill_names == frozenset({"travel"})


def test_inactive_assistant_agent_falls_back_to_the_default(assistant):
    default = AgentFactory(name="Default", is_default=True)
    assistant.agent = AgentFactory(status=Agent.Status.INACTIVE)
    assistant.save()
    assert agent_config_for_assistant(assistant).id == default.id


def test_no_agent_and_no_default_gives_none(assistant):
    AgentFactory(name="Not default")
    assert agent_config_for_assistant(assistant) is None


def test_inactive_default_agent_is_not_used(assistant):
    Agent.objects.create(name="Old default", is_default=True, status=Agent.Status.INACTIVE)
    assert agent_config_for_assistant(assistant) is None


def test_none_assistant_gets_the_default_agent(db):
    default = AgentFactory(is_default=True)
    assert agent_config_for_assistant(None).id == default.id


def test_agent_config_is_frozen_and_costs_two_queries(assistant, django_assert_num_queries):
    assistant.agent = AgentFactory(skills=[SkillFactory(), SkillFactory()])
    assistant.save()
    # 1: the active agent by id, 2: its usable skills (prefetch)
    with django_assert_num_queries(2):
        config = agent_config_for_assistant(assistant)
    assert len(config.skill_names) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.model = "other"
