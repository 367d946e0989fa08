from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from tskr.api.permissions import IsSuperAdmin
from tskr.api.serializers import DeletedSerializer
from tskr.api.viewsets import UnscopedPlatformViewSet, deleted

from .. import selectors, services
from ..filters import AgentFilter, SkillFilter, TaskTemplateFilter
from ..models import Agent, Skill, SkillCategory, TaskTemplate
from .serializers import (
    AgentCreateSerializer,
    AgentSerializer,
    AgentUpdateSerializer,
    SkillCategoryCreateSerializer,
    SkillCategoryReorderSerializer,
    SkillCategorySerializer,
    SkillCategoryUpdateSerializer,
    SkillCreateSerializer,
    SkillSerializer,
    SkillUpdateSerializer,
    TaskTemplateCreateSerializer,
    TaskTemplateSerializer,
    TaskTemplateUpdateSerializer,
)

SUPER_ADMIN = ("Super admin only: a delegated token whose email domain is a super-admin domain (skej.com), "
               "signed with a certificate of a staff account; anything else answers 403 `super_admin_required`.")


class PlatformCatalogViewSet(UnscopedPlatformViewSet):
    """The catalog is platform-wide, not per account: no account filter, and only super admins get in.

    Writes record the caller's email as created/updated by.
    """

    permission_classes = [IsSuperAdmin]

    @property
    def actor(self) -> str:
        return self.acting_user.email

    def _list(self, serializer_class):
        return self.paginated(self.filter_queryset(self.get_queryset()), serializer_class)


@extend_schema(tags=["Admin: skill categories"], description=SUPER_ADMIN)
class SkillCategoryViewSet(PlatformCatalogViewSet):
    envelope_key, envelope_list_key = "category", "categories"
    queryset = SkillCategory.objects.all()

    def narrow_queryset(self, queryset):
        return selectors.skill_category_list(queryset=queryset)

    @extend_schema(responses=SkillCategorySerializer(many=True), description=f"In sortOrder. {SUPER_ADMIN}")
    def list(self, request):
        return self._list(SkillCategorySerializer)

    @extend_schema(request=SkillCategoryCreateSerializer, responses={201: SkillCategorySerializer},
                   description="409 `skill_category_exists` on a taken name; a category without sortOrder "
                               "goes last; without displayName, the name reads as words (\"productivity\" -> "
                               f"\"Productivity\"). {SUPER_ADMIN}")
    def create(self, request):
        category = services.skill_category_create(actor=self.actor,
                                                  **SkillCategoryCreateSerializer.validated(request.data))
        return Response(SkillCategorySerializer(category).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=SkillCategorySerializer)
    def retrieve(self, request, pk=None):
        return Response(SkillCategorySerializer(self.get_object()).data)

    @extend_schema(request=SkillCategoryUpdateSerializer, responses=SkillCategorySerializer,
                   description=f"Partial update (PUT and PATCH). {SUPER_ADMIN}")
    def update(self, request, pk=None):
        category = services.skill_category_update(category=self.get_object(), actor=self.actor,
                                                  **SkillCategoryUpdateSerializer.validated(request.data))
        return Response(SkillCategorySerializer(category).data)

    @extend_schema(request=None, responses=DeletedSerializer,
                   description=f"409 `skill_category_not_empty` while skills belong to it. {SUPER_ADMIN}")
    def destroy(self, request, pk=None):
        services.skill_category_delete(category=self.get_object())
        return Response(deleted(pk, "Skill category deleted successfully"))

    @extend_schema(request=SkillCategoryReorderSerializer, responses=SkillCategorySerializer(many=True),
                   description="Rewrites sortOrder (0, 1, 2...) from the full ordered list of category ids in one "
                               "transaction; a list that is not exactly the set of existing ids (each once) answers "
                               f"400 `invalid_category_order`. Answers all categories in the new order. {SUPER_ADMIN}")
    @action(detail=False, methods=["post"], url_path="reorder", pagination_class=None)
    def reorder(self, request):
        categories = services.skill_categories_reorder(actor=self.actor,
                                                       **SkillCategoryReorderSerializer.validated(request.data))
        return Response(SkillCategorySerializer(categories, many=True).data)


@extend_schema(tags=["Admin: skills"], description=SUPER_ADMIN)
class SkillViewSet(PlatformCatalogViewSet):
    envelope_key, envelope_list_key = "skill", "skills"
    filterset_class = SkillFilter
    queryset = Skill.objects.all()

    def narrow_queryset(self, queryset):
        return selectors.skill_list(queryset=queryset)

    @extend_schema(responses=SkillSerializer(many=True))
    def list(self, request):
        return self._list(SkillSerializer)

    @extend_schema(request=SkillCreateSerializer, responses={201: SkillSerializer},
                   description="`category` is the category's name (slug) or id. Answers the full skill (a superset "
                               f"of the contract's id, name, displayName, status). 409 `skill_exists`. {SUPER_ADMIN}")
    def create(self, request):
        skill = services.skill_create(actor=self.actor, **SkillCreateSerializer.validated(request.data))
        return Response(SkillSerializer(skill).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=SkillSerializer)
    def retrieve(self, request, pk=None):
        return Response(SkillSerializer(self.get_object()).data)

    @extend_schema(request=SkillUpdateSerializer, responses=SkillSerializer,
                   description=f"Partial update (PUT and PATCH). {SUPER_ADMIN}")
    def update(self, request, pk=None):
        skill = services.skill_update(skill=self.get_object(), actor=self.actor,
                                      **SkillUpdateSerializer.validated(request.data))
        return Response(SkillSerializer(skill).data)

    @extend_schema(request=None, responses=DeletedSerializer,
                   description="409 `skill_in_use` while agents or task templates use the skill (detach it or "
                               f"set its status to disabled). {SUPER_ADMIN}")
    def destroy(self, request, pk=None):
        services.skill_delete(skill=self.get_object())
        return Response(deleted(pk, "Skill deleted successfully"))


@extend_schema(tags=["Admin: task templates"], description=SUPER_ADMIN)
class TaskTemplateViewSet(PlatformCatalogViewSet):
    envelope_key, envelope_list_key = "taskTemplate", "taskTemplates"
    filterset_class = TaskTemplateFilter
    queryset = TaskTemplate.objects.all()

    def narrow_queryset(self, queryset):
        return selectors.task_template_list(queryset=queryset)

    @extend_schema(responses=TaskTemplateSerializer(many=True))
    def list(self, request):
        return self._list(TaskTemplateSerializer)

    @extend_schema(request=TaskTemplateCreateSerializer, responses={201: TaskTemplateSerializer},
                   description="`skill` is the skill's name (slug) or id. `{name}` placeholders in titleTemplate, "
                               "descriptionTemplate and steps are filled from the context given when a task is built "
                               f"(unknown ones stay as written). 409 `task_template_exists`. {SUPER_ADMIN}")
    def create(self, request):
        template = services.task_template_create(actor=self.actor,
                                                 **TaskTemplateCreateSerializer.validated(request.data))
        return Response(TaskTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=TaskTemplateSerializer)
    def retrieve(self, request, pk=None):
        return Response(TaskTemplateSerializer(self.get_object()).data)

    @extend_schema(request=TaskTemplateUpdateSerializer, responses=TaskTemplateSerializer,
                   description=f"Partial update (PUT and PATCH); `steps` replaces the whole list. {SUPER_ADMIN}")
    def update(self, request, pk=None):
        template = services.task_template_update(template=self.get_object(), actor=self.actor,
                                                 **TaskTemplateUpdateSerializer.validated(request.data))
        return Response(TaskTemplateSerializer(template).data)

    @extend_schema(request=None, responses=DeletedSerializer,
                   description="Tasks built from the template are kept (their template link is cleared). "
                               f"{SUPER_ADMIN}")
    def destroy(self, request, pk=None):
        services.task_template_delete(template=self.get_object())
        return Response(deleted(pk, "Task template deleted successfully"))


@extend_schema(tags=["Admin: agents"], description=SUPER_ADMIN)
class AgentViewSet(PlatformCatalogViewSet):
    envelope_key, envelope_list_key = "agent", "agents"
    filterset_class = AgentFilter
    queryset = Agent.objects.all()

    def narrow_queryset(self, queryset):
        return selectors.agent_list(queryset=queryset)

    @extend_schema(responses=AgentSerializer(many=True))
    def list(self, request):
        return self._list(AgentSerializer)

    @extend_schema(request=AgentCreateSerializer, responses={201: AgentSerializer},
                   description="`skills` are skill names or ids. `isDefault: true` takes the default flag from the "
                               "previous default in the same transaction; the default must be active (400 "
                               f"`default_agent_inactive`). 409 `agent_exists`. {SUPER_ADMIN}")
    def create(self, request):
        agent = services.agent_create(actor=self.actor, **AgentCreateSerializer.validated(request.data))
        return Response(AgentSerializer(agent).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=AgentSerializer)
    def retrieve(self, request, pk=None):
        return Response(AgentSerializer(self.get_object()).data)

    @extend_schema(request=AgentUpdateSerializer, responses=AgentSerializer,
                   description=f"Partial update (PUT and PATCH); `skills` replaces the whole set. {SUPER_ADMIN}")
    def update(self, request, pk=None):
        agent = services.agent_update(agent=self.get_object(), actor=self.actor,
                                      **AgentUpdateSerializer.validated(request.data))
        return Response(AgentSerializer(agent).data)

    @extend_schema(request=None, responses=DeletedSerializer,
                   description="409 `agent_is_default` for the default agent. Assistants using the agent are "
                               f"detached and fall back to the default agent. {SUPER_ADMIN}")
    def destroy(self, request, pk=None):
        services.agent_delete(agent=self.get_object())
        return Response(deleted(pk, "Agent deleted successfully"))
