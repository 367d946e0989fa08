from tskr.routers import ApiRouter

from .views import AssistantViewSet, UserViewSet

router = ApiRouter()
router.register("users", UserViewSet, basename="user")
router.register("assistants", AssistantViewSet, basename="assistant")
urlpatterns = router.urls
