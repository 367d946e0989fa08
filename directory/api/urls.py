from tskr.api.routers import ApiRouter

from .views import ContactViewSet, IdentifierViewSet, MemoryViewSet

router = ApiRouter()
router.register("memories", MemoryViewSet, basename="memory")
router.register("contacts", ContactViewSet, basename="contact")
router.register("identifiers", IdentifierViewSet, basename="identifier")
urlpatterns = router.urls
