from django.urls import path

from tskr.api.routers import ApiRouter

from .views import ChatViewSet, MessageViewSet, UsageViewSet

router = ApiRouter()
router.register("chats", ChatViewSet, basename="chat")

# Messages are routed by hand: the contract's "clear all" is a DELETE on the collection.
messages = MessageViewSet.as_view({"get": "list", "post": "create", "delete": "clear"})
message = MessageViewSet.as_view({"get": "retrieve", "put": "update", "patch": "update", "delete": "destroy"})

urlpatterns = router.urls + [
    path("chats/<str:chat_id>/messages", messages, name="chat-messages"),
    path("chats/<str:chat_id>/messages/<str:message_id>", message, name="chat-message"),
    path("usage", UsageViewSet.as_view({"get": "summary"}), name="usage"),
]
