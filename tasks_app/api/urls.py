from tskr.routers import ApiRouter

from .views import TaskViewSet

router = ApiRouter()
router.register("tasks", TaskViewSet, basename="task")
urlpatterns = router.urls
