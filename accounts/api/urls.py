from django.urls import path

from tskr.api.routers import ApiRouter

from .views import AssistantViewSet, EventViewSet, UserViewSet, WebhookDeliveryViewSet, WebhookViewSet

router = ApiRouter()
router.register("users", UserViewSet, basename="user")
router.register("assistants", AssistantViewSet, basename="assistant")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("events", EventViewSet, basename="event")

urlpatterns = router.urls + [
    path("webhooks/<str:webhook_id>/deliveries", WebhookDeliveryViewSet.as_view({"get": "list"}),
         name="webhook-deliveries"),
    path("webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/retry",
         WebhookDeliveryViewSet.as_view({"post": "retry"}), name="webhook-delivery-retry"),
]
