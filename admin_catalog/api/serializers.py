from django.core.validators import RegexValidator
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tskr.api.serializers import InputSerializer

from ..models import HEX_COLOR, Agent, Skill, SkillCategory, TaskTemplate
from ..task_vocabulary import TASK_TYPE_PATTERN, TASK_TYPE_RULE, TaskStatus

TASK_TYPE = RegexValidator(TASK_TYPE_PATTERN, f"Task type {TASK_TYPE_RULE}")


# -- fields -----------------------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class CatalogReferenceField(serializers.RelatedField):
    """A catalog row named by its name (slug) or by its id, as the integrator prefers: "productivity" or "skcat_..."."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data:
            raise serializers.ValidationError("Must be a name or an id (string)")
        obj = self.get_queryset().filter(Q(name=data) | Q(id=data)).first()
        if obj is None:
            raise serializers.ValidationError(f"Unknown {self.get_queryset().model._meta.verbose_name} '{data}'")
        return obj

    def to_representation(self, value):
        return value.name


class CatalogReferenceListField(serializers.ListField):
    """A list of catalog rows by name or id, resolved in one query (not one per item)."""

    def __init__(self, *, queryset, **kwargs):
        self.queryset = queryset
        kwargs.setdefault("child", serializers.CharField(max_length=100))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        keys = super().to_internal_value(data)
        found = {}
        for obj in self.queryset.filter(Q(name__in=keys) | Q(id__in=keys)):
            found[obj.name] = found[obj.id] = obj
        unknown = {index: [f"Unknown {self.queryset.model._meta.verbose_name} '{key}'"]
                   for index, key in enumerate(keys) if key not in found}
        if unknown:
            raise serializers.ValidationError(unknown)
        return [found[key] for key in keys]

    def to_representation(self, value):
        return [obj.name for obj in value.all()] if hasattr(value, "all") else [obj.name for obj in value]


STEP_SCHEMA = {
    "oneOf": [
        {"type": "string", "maxLength": 300},
        {"type": "object", "required": ["title"], "additionalProperties": False,
         "properties": {"title": {"type": "string", "maxLength": 300}, "description": {"type": "string"}}},
    ],
}


@extend_schema_field(STEP_SCHEMA)
class TemplateStepField(serializers.Field):
    """One step of a template: a subtask title, or `{"title", "description"}`. Placeholders allowed."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            return self._title(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError('A step is a string or an object {"title", "description"}')
        unknown = set(data) - {"title", "description"}
        if unknown:
            raise serializers.ValidationError(f"Unknown step keys: {', '.join(sorted(unknown))}")
        description = data.get("description", "")
        if not isinstance(description, str) or len(description) > 5000:
            raise serializers.ValidationError("description must be a string of at most 5000 characters")
        step = {"title": self._title(data.get("title"))}
        if description:
            step["description"] = description
        return step

    @staticmethod
    def _title(value) -> str:
        if not isinstance(value, str) or not value.strip():
            raise serializers.ValidationError("A step needs a non-empty title")
        if len(value) > 300:
            raise serializers.ValidationError("A step title has at most 300 characters")
        return value.strip()

    def to_representation(self, value):
        return value


# -- output -----------------------------------------------------------------------------------------------------


class AuditedSerializer(serializers.ModelSerializer):
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)
    createdBy = serializers.CharField(source="created_by", read_only=True,
                                      help_text="Email of the super admin (or staff username) who created it")
    updatedBy = serializers.CharField(source="updated_by", read_only=True,
                                      help_text="Email of the super admin (or staff username) who last changed it")

    AUDIT_FIELDS = ["createdAt", "updatedAt", "createdBy", "updatedBy"]


class SkillCategorySerializer(AuditedSerializer):
    displayName = serializers.CharField(source="display_name")
    sortOrder = serializers.IntegerField(source="sort_order")

    class Meta:
        model = SkillCategory
        fields = ["id", "name", "displayName", "description", "sortOrder", *AuditedSerializer.AUDIT_FIELDS]
        read_only_fields = fields


class SkillSerializer(AuditedSerializer):
    displayName = serializers.CharField(source="display_name")
    category = serializers.CharField(source="category.name", allow_null=True, default=None,
                                     help_text="Category name (slug), null when uncategorised")
    categoryId = serializers.CharField(source="category_id", allow_null=True)

    class Meta:
        model = Skill
        fields = ["id", "name", "displayName", "icon", "color", "description", "category", "categoryId", "status",
                  *AuditedSerializer.AUDIT_FIELDS]
        read_only_fields = fields


class TaskTemplateSerializer(AuditedSerializer):
    displayName = serializers.CharField(source="display_name")
    skill = serializers.CharField(source="skill.name", allow_null=True, default=None,
                                  help_text="Skill name (slug), null when the template has none")
    skillId = serializers.CharField(source="skill_id", allow_null=True)
    taskType = serializers.CharField(source="task_type")
    defaultStatus = serializers.CharField(source="default_status")
    titleTemplate = serializers.CharField(source="title_template")
    descriptionTemplate = serializers.CharField(source="description_template")
    steps = serializers.ListField(child=TemplateStepField())

    class Meta:
        model = TaskTemplate
        fields = ["id", "name", "displayName", "description", "skill", "skillId", "taskType", "defaultStatus",
                  "titleTemplate", "descriptionTemplate", "steps", "status", *AuditedSerializer.AUDIT_FIELDS]
        read_only_fields = fields


class AgentSerializer(AuditedSerializer):
    """`skills` and `skillIds` list every skill of the agent; only available/beta ones are used by the engine."""

    systemPrompt = serializers.CharField(source="system_prompt")
    maxTokens = serializers.IntegerField(source="max_tokens")
    isDefault = serializers.BooleanField(source="is_default")
    skills = serializers.SerializerMethodField(help_text="Skill names (slugs)")
    skillIds = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        fields = ["id", "name", "description", "model", "systemPrompt", "temperature", "maxTokens", "skills",
                  "skillIds", "status", "isDefault", *AuditedSerializer.AUDIT_FIELDS]
        read_only_fields = fields

    def get_skills(self, agent) -> list[str]:
        return [skill.name for skill in agent.skills.all()]

    def get_skillIds(self, agent) -> list[str]:
        return [skill.id for skill in agent.skills.all()]


# -- input -------------------------------------------------------------------------------------------------------


class NamedUpdateSerializer(InputSerializer):
    """The fields categories, skills and templates share; all optional (PUT and PATCH are partial)."""

    name = serializers.SlugField(max_length=100, required=False)
    displayName = serializers.CharField(source="display_name", max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, max_length=5000, required=False)


class NamedCreateMixin(serializers.Serializer):
    """Create bodies: the update fields, with name and displayName required."""

    name = serializers.SlugField(max_length=100)
    displayName = serializers.CharField(source="display_name", max_length=200)


class SkillCategoryUpdateSerializer(NamedUpdateSerializer):
    sortOrder = serializers.IntegerField(source="sort_order", min_value=0, max_value=1_000_000, required=False,
                                         help_text="Position; new categories go last when omitted")


class SkillCategoryCreateSerializer(NamedCreateMixin, SkillCategoryUpdateSerializer):
    """Create body of a category: name required; displayName derived from the name when omitted."""

    displayName = serializers.CharField(source="display_name", max_length=200, required=False,
                                        help_text='Derived from the name when omitted ("productivity" -> '
                                                  '"Productivity")')


class SkillCategoryReorderSerializer(InputSerializer):
    categoryIds = serializers.ListField(child=serializers.CharField(max_length=40), source="category_ids",
                                        max_length=1000, allow_empty=True,
                                        help_text="Every category id exactly once, in the new order")


class SkillUpdateSerializer(NamedUpdateSerializer):
    icon = serializers.CharField(max_length=100, allow_blank=True, required=False)
    color = serializers.CharField(max_length=7, allow_blank=True, required=False, validators=[HEX_COLOR],
                                  help_text="#RGB or #RRGGBB")
    category = CatalogReferenceField(queryset=SkillCategory.objects.all(), allow_null=True, required=False,
                                     help_text="Category name (slug) or id; null for none")
    status = serializers.ChoiceField(choices=Skill.Status.choices, required=False)


class SkillCreateSerializer(NamedCreateMixin, SkillUpdateSerializer):
    pass


class TaskTemplateUpdateSerializer(NamedUpdateSerializer):
    skill = CatalogReferenceField(queryset=Skill.objects.all(), allow_null=True, required=False,
                                  help_text="Skill name (slug) or id; null for none")
    taskType = serializers.CharField(source="task_type", max_length=64, required=False, validators=[TASK_TYPE],
                                     help_text=f"The built task's type; {TASK_TYPE_RULE}")
    defaultStatus = serializers.ChoiceField(source="default_status", choices=TaskStatus.choices, required=False)
    titleTemplate = serializers.CharField(source="title_template", allow_blank=True, max_length=300, required=False,
                                          help_text="`{name}` placeholders are filled from the task's context")
    descriptionTemplate = serializers.CharField(source="description_template", allow_blank=True, max_length=20000,
                                                required=False)
    steps = serializers.ListField(child=TemplateStepField(), max_length=50, required=False,
                                  help_text="Each step becomes a subtask")
    status = serializers.ChoiceField(choices=TaskTemplate.Status.choices, required=False)


class TaskTemplateCreateSerializer(NamedCreateMixin, TaskTemplateUpdateSerializer):
    pass


class AgentUpdateSerializer(InputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, max_length=5000, required=False)
    model = serializers.CharField(allow_blank=True, max_length=200, required=False)
    systemPrompt = serializers.CharField(source="system_prompt", allow_blank=True, max_length=100_000, required=False)
    temperature = serializers.FloatField(min_value=0, max_value=2, required=False)
    maxTokens = serializers.IntegerField(source="max_tokens", min_value=1, max_value=1_000_000, required=False)
    skills = CatalogReferenceListField(queryset=Skill.objects.all(), max_length=200, required=False,
                                       help_text="Skill names or ids; replaces the agent's skill set")
    status = serializers.ChoiceField(choices=Agent.Status.choices, required=False)
    isDefault = serializers.BooleanField(source="is_default", required=False,
                                         help_text="true makes this the one default agent (the previous loses it)")


class AgentCreateSerializer(AgentUpdateSerializer):
    name = serializers.CharField(max_length=200)
