"""Staff screens (/staff/) for the catalog, writing through its services with the staff member as the actor."""
from django import forms
from django.contrib import admin
from rest_framework import serializers

from tskr.staff import ServiceAdmin

from . import services
from .api.serializers import TASK_TYPE, TemplateStepField
from .models import Agent, Skill, SkillCategory, TaskTemplate

AUDIT_FIELDS = ["id", "created_at", "updated_at", "created_by", "updated_by"]


def staff_actor(request) -> str:
    return request.user.email or request.user.get_username()


class CatalogAdmin(ServiceAdmin):
    """Saves and deletes through admin_catalog's services with the staff member as the actor: unique
    names, the guards on deleting (a category with skills, a skill in use, the default agent) and the
    audit stamps are the services'; the stamps are read-only here."""

    readonly_fields = AUDIT_FIELDS
    creator, updater, deleter, noun = None, None, None, ""  # the services, and their keyword for the row

    def service_create(self, request, data):
        return type(self).creator(actor=staff_actor(request), **data)

    def service_update(self, request, obj, changes):
        return type(self).updater(actor=staff_actor(request), **{self.noun: obj}, **changes)

    def service_delete(self, request, obj):
        type(self).deleter(**{self.noun: obj})


class SkillInline(admin.TabularInline):
    """Skills shown under their category, read-only: a skill is changed on its own page, through its service."""

    model = Skill
    fields = ["name", "display_name", "icon", "color", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SkillCategory)
class SkillCategoryAdmin(CatalogAdmin):
    list_display = ["display_name", "name", "sort_order", "updated_by", "updated_at"]
    list_editable = ["sort_order"]
    list_display_links = ["display_name"]
    search_fields = ["name", "display_name", "description"]
    inlines = [SkillInline]
    creator, updater, deleter, noun = (services.skill_category_create, services.skill_category_update,
                                    services.skill_category_delete, "category")


@admin.register(Skill)
class SkillAdmin(CatalogAdmin):
    list_display = ["display_name", "name", "category", "status", "color", "updated_by", "updated_at"]
    list_filter = ["status", "category"]
    search_fields = ["name", "display_name", "description", "category__name"]
    list_select_related = ["category"]
    creator, updater, deleter, noun = services.skill_create, services.skill_update, services.skill_delete, "skill"


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
class TaskTemplateAdmin(CatalogAdmin):
    form = TaskTemplateForm
    list_display = ["display_name", "name", "skill", "task_type", "default_status", "status", "updated_at"]
    list_filter = ["status", "task_type", "default_status", "skill"]
    search_fields = ["name", "display_name", "description", "title_template"]
    list_select_related = ["skill"]
    creator, updater, deleter, noun = (services.task_template_create, services.task_template_update,
                                    services.task_template_delete, "template")


class AgentForm(forms.ModelForm):
    class Meta:
        model = Agent
        fields = "__all__"

    def _get_validation_exclusions(self):
        """`one_default_agent` is kept by taking the flag from the previous default on save, not by refusing."""
        return {*super()._get_validation_exclusions(), "is_default"}


@admin.register(Agent)
class AgentAdmin(CatalogAdmin):
    form = AgentForm
    list_display = ["name", "model", "status", "is_default", "temperature", "max_tokens", "updated_at"]
    list_filter = ["status", "is_default", "skills"]
    search_fields = ["name", "description", "model", "system_prompt"]
    filter_horizontal = ["skills"]
    creator, updater, deleter, noun = services.agent_create, services.agent_update, services.agent_delete, "agent"
