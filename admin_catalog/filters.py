import django_filters

from tskr.api.filters import FilterSet

from .models import Agent, Skill, TaskTemplate


class SkillFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Skill.Status.choices)
    category = django_filters.CharFilter(field_name="category__name", help_text="Category name (slug)")

    class Meta:
        model = Skill
        fields = ["status", "category"]


class TaskTemplateFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=TaskTemplate.Status.choices)
    skill = django_filters.CharFilter(field_name="skill__name", help_text="Skill name (slug)")
    taskType = django_filters.CharFilter(field_name="task_type")

    class Meta:
        model = TaskTemplate
        fields = ["status", "skill", "taskType"]


class AgentFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Agent.Status.choices)
    isDefault = django_filters.BooleanFilter(field_name="is_default")

    class Meta:
        model = Agent
        fields = ["status", "isDefault"]
