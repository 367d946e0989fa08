"""The platform-wide catalog (not per account): skills, their categories, task templates, agents."""
from django.core.validators import RegexValidator
from django.db import models

from tskr.infra.ids import PublicIdField
from tskr.models import TimeStampedModel

from .task_vocabulary import TaskStatus

HEX_COLOR = RegexValidator(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$", "Must be a hex color such as #3B82F6")


class AuditedModel(TimeStampedModel):
    """Catalog rows record which super admin (email) created and last changed them."""

    created_by = models.CharField(max_length=254, blank=True)
    updated_by = models.CharField(max_length=254, blank=True)

    class Meta:
        abstract = True


class SkillCategory(AuditedModel):
    """A group of skills, shown in `sort_order`."""

    id = PublicIdField("skcat")
    name = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "skill categories"

    def __str__(self):
        return self.display_name or self.name


class Skill(AuditedModel):
    """A capability agents can have (scheduling, reminders...); tasks of that type need it enabled."""

    class Status(models.TextChoices):
        AVAILABLE = "available"
        BETA = "beta"
        COMING_SOON = "coming_soon"
        DISABLED = "disabled"

    id = PublicIdField("skill")
    name = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200)
    icon = models.CharField(max_length=100, blank=True)
    color = models.CharField(max_length=7, blank=True, validators=[HEX_COLOR])
    description = models.TextField(blank=True)
    category = models.ForeignKey(SkillCategory, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="skills")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AVAILABLE)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.display_name or self.name


class TaskTemplate(AuditedModel):
    """A recipe for a task: type, default status, title/description templates and steps (subtasks)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    id = PublicIdField("tmpl")
    name = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    skill = models.ForeignKey(Skill, on_delete=models.SET_NULL, null=True, blank=True, related_name="templates")
    task_type = models.CharField(max_length=64, default="task")
    default_status = models.CharField(max_length=32, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    title_template = models.CharField(max_length=300, blank=True)
    description_template = models.TextField(blank=True)
    steps = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.display_name or self.name


class Agent(AuditedModel):
    """The model configuration behind assistants: model, system prompt, sampling and enabled skills.

    At most one agent is the default, used by assistants that name none.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    id = PublicIdField("agent")
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    model = models.CharField(max_length=200, blank=True)
    system_prompt = models.TextField(blank=True)
    temperature = models.FloatField(default=0.3)
    max_tokens = models.PositiveIntegerField(default=1024)
    skills = models.ManyToManyField(Skill, blank=True, related_name="agents")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="one_default_agent")]

    def __str__(self):
        return self.name
