from tskr.api.routers import ApiRouter

from .approvals import ApprovalViewSet
from .views import TaskViewSet

router = ApiRouter()
router.register("tasks", TaskViewSet, basename="task")
router.register("approvals", ApprovalViewSet, basename="approval")
urlpatterns = router.urls
