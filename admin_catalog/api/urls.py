from tskr.api.routers import ApiRouter

from .views import AgentViewSet, SkillCategoryViewSet, SkillViewSet, TaskTemplateViewSet

router = ApiRouter()
router.register("admin/skill-categories", SkillCategoryViewSet, basename="admin-skill-category")
router.register("admin/skills", SkillViewSet, basename="admin-skill")
router.register("admin/task-templates", TaskTemplateViewSet, basename="admin-task-template")
router.register("admin/agents", AgentViewSet, basename="admin-agent")
urlpatterns = router.urls
