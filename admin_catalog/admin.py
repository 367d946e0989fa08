"""Staff screens (/staff/) for the catalog. Saves stamp created/updated by with the staff member's identity."""
from django import forms
from django.contrib import admin
from rest_framework import serializers

from . import services
from .api.serializers import TASK_TYPE, TemplateStepField
from .models import Agent, Skill, SkillCategory, TaskTemplate

AUDIT_FIELDS = ["id", "created_at", "updated_at", "created_by", "updated_by"]


def staff_actor(request) -> str:
    return request.user.email or request.user.get_username()


def stamp(obj, actor: str) -> None:
    if obj._state.adding:
        obj.created_by = actor
    obj.updated_by = actor


class AuditedAdmin(admin.ModelAdmin):
    readonly_fields = AUDIT_FIELDS

    def save_model(self, request, obj, form, change):
        stamp(obj, staff_actor(request))
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for obj in formset.save(commit=False):
            stamp(obj, staff_actor(request))
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


class SkillInline(admin.TabularInline):
    """Skills shown under their category. Deleting happens on the skill's own page (where in-use is checked)."""

    model = Skill
    fields = ["name", "display_name", "icon", "color", "status"]
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(SkillCategory)
class SkillCategoryAdmin(AuditedAdmin):
    list_display = ["display_name", "name", "sort_order", "updated_by", "updated_at"]
    list_editable = ["sort_order"]
    list_display_links = ["display_name"]
    search_fields = ["name", "display_name", "description"]
    inlines = [SkillInline]


class InUseGuard:
    """Hide delete (single and bulk) where the API would answer 409, so the two doors agree."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj is not None and self.in_use(obj))


@admin.register(Skill)
class SkillAdmin(InUseGuard, AuditedAdmin):
    list_display = ["display_name", "name", "category", "status", "color", "updated_by", "updated_at"]
    list_filter = ["status", "category"]
    search_fields = ["name", "display_name", "description", "category__name"]
    list_select_related = ["category"]

    @staticmethod
    def in_use(skill: Skill) -> bool:
        return skill.agents.exists() or skill.templates.exists()


class TaskTemplateForm(forms.ModelForm):
    class Meta:
        model = TaskTemplate
        fields = "__all__"

    def clean_task_type(self):
        TASK_TYPE(self.cleaned_data["task_type"])
        return self.cleaned_data["task_type"]

    def clean_steps(self):
        """The same step rules as the API: a string, or {"title", "description"}."""
        try:
            return serializers.ListField(child=TemplateStepField(), max_length=50).run_validation(
                self.cleaned_data["steps"])
        except serializers.ValidationError as error:
            raise forms.ValidationError(str(error.detail)) from None


@admin.register(TaskTemplate)
class TaskTemplateAdmin(AuditedAdmin):
    form = TaskTemplateForm
    list_display = ["display_name", "name", "skill", "task_type", "default_status", "status", "updated_at"]
    list_filter = ["status", "task_type", "default_status", "skill"]
    search_fields = ["name", "display_name", "description", "title_template"]
    list_select_related = ["skill"]


class AgentForm(forms.ModelForm):
    class Meta:
        model = Agent
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_default") and cleaned.get("status") != Agent.Status.ACTIVE:
            raise forms.ValidationError("The default agent must be active")
        return cleaned

    def _get_validation_exclusions(self):
        """`one_default_agent` is kept by taking the flag from the previous default on save, not by refusing."""
        return {*super()._get_validation_exclusions(), "is_default"}


@admin.register(Agent)
class AgentAdmin(InUseGuard, AuditedAdmin):
    form = AgentForm
    list_display = ["name", "model", "status", "is_default", "temperature", "max_tokens", "updated_at"]
    list_filter = ["status", "is_default", "skills"]
    search_fields = ["name", "description", "model", "system_prompt"]
    filter_horizontal = ["skills"]

    @staticmethod
    def in_use(agent: Agent) -> bool:
        return agent.is_default

    def save_model(self, request, obj, form, change):
        if obj.is_default:
            services.agent_claim_default(agent=obj, actor=staff_actor(request))
        super().save_model(request, obj, form, change)
