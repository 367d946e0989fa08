"""Baseline (b): minimal Django views running the endpoints' data queries with `.values()`, no DRF.

They answer the same JSON the API does (envelope, camelCase keys, ISO 8601 'Z' timestamps) for the
bench caller named by BENCH_ACCOUNT_ID / BENCH_USER_ID, without authentication or rate limiting,
so API / baseline is what DRF, authentication and the serializers cost on top of the SQL.

Also the "unauthenticated copy" of scenario 3: the real message list view with a fixed principal
instead of token verification, and no throttle.
"""
import os
from datetime import datetime

from django.db.models.functions import Coalesce
from django.http import JsonResponse
from rest_framework.authentication import BaseAuthentication

from accounts.models import Account, User
from conversations.api.views import MessageViewSet
from conversations.models import Chat, Message
from tasks_app.models import TRANSITIONS, Task
from tskr.api.pagination import MAX_PER_PAGE
from tskr.api.principal import Principal


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _page(request, default: int) -> tuple[int, int]:
    page = int(request.GET.get("page", 1))
    per_page = min(int(request.GET.get("perPage", default)), MAX_PER_PAGE)
    return page, per_page


def _listing(key: str, rows: list, page: int, per_page: int, total: int) -> JsonResponse:
    return JsonResponse({"ok": True, key: rows, "page": page, "perPage": per_page, "total": total})


def _ids() -> tuple[str, str]:
    return os.environ["BENCH_ACCOUNT_ID"], os.environ["BENCH_USER_ID"]


def messages(request, chat_id):
    account_id, _ = _ids()
    if not Chat.objects.filter(account_id=account_id, id=chat_id).exists():
        return JsonResponse({"error": "Chat not found", "error_code": "not_found"}, status=404)
    page, per_page = _page(request, 20)
    queryset = Message.objects.filter(account_id=account_id, chat_id=chat_id).order_by("timestamp", "id")
    total = queryset.count()
    offset = (page - 1) * per_page
    rows = list(queryset.values("id", "role", "platform", "content", "files", "timestamp", "metadata",
                                "updated_at")[offset:offset + per_page])
    for row in rows:
        row["timestamp"] = _iso(row["timestamp"])
        row["updatedAt"] = _iso(row.pop("updated_at"))
    return _listing("messages", rows, page, per_page, total)


def chats(request):
    account_id, _ = _ids()
    page, per_page = _page(request, 20)
    queryset = Chat.objects.filter(account_id=account_id, status=Chat.Status.ACTIVE)
    total = queryset.count()
    offset = (page - 1) * per_page
    rows = []
    for row in (queryset.annotate(activity_at=Coalesce("last_message_at", "created_at"))
                .order_by("-activity_at", "-id")
                .values("id", "title", "status", "message_count", "assistant_id", "assistant__name",
                        "assistant__email", "metadata", "last_message_at", "created_at",
                        "updated_at")[offset:offset + per_page]):
        assistant = None if row["assistant_id"] is None else {
            "id": row["assistant_id"], "name": row["assistant__name"], "email": row["assistant__email"]}
        rows.append({"id": row["id"], "title": row["title"], "status": row["status"],
                     "messageCount": row["message_count"], "assistant": assistant, "metadata": row["metadata"],
                     "lastMessageAt": _iso(row["last_message_at"]), "createdAt": _iso(row["created_at"]),
                     "updatedAt": _iso(row["updated_at"])})
    return _listing("chats", rows, page, per_page, total)


def tasks(request):
    account_id, _ = _ids()
    page, per_page = _page(request, 20)
    queryset = Task.objects.filter(account_id=account_id)
    if "status" in request.GET:
        queryset = queryset.filter(status=request.GET["status"])
    total = queryset.count()
    offset = (page - 1) * per_page
    rows = list(queryset.order_by("-created_at", "-id").values(
        "id", "title", "description", "status", "type", "summary", "metadata", "owner_id", "owner__email",
        "owner__first_name", "owner__last_name", "assistant_id", "parent_id", "source_chat_id", "template_id",
        "due_at", "created_at", "updated_at")[offset:offset + per_page])
    followers: dict[str, list] = {row["id"]: [] for row in rows}
    for link in Task.followers.through.objects.filter(task_id__in=followers).values(
            "task_id", "user_id", "user__email", "user__first_name", "user__last_name"):
        followers[link["task_id"]].append({"id": link["user_id"], "email": link["user__email"],
                                           "firstName": link["user__first_name"],
                                           "lastName": link["user__last_name"]})
    body = []
    for row in rows:
        owner = None if row["owner_id"] is None else {
            "id": row["owner_id"], "email": row["owner__email"], "firstName": row["owner__first_name"],
            "lastName": row["owner__last_name"]}
        body.append({"id": row["id"], "title": row["title"], "description": row["description"],
                     "status": row["status"], "type": row["type"], "summary": row["summary"],
                     "metadata": row["metadata"], "owner": owner, "followers": followers[row["id"]],
                     "assistantId": row["assistant_id"], "parentId": row["parent_id"],
                     "sourceChatId": row["source_chat_id"], "templateId": row["template_id"],
                     "dueAt": _iso(row["due_at"]), "allowedTransitions": list(TRANSITIONS[row["status"]]),
                     "createdAt": _iso(row["created_at"]), "updatedAt": _iso(row["updated_at"])})
    return _listing("tasks", body, page, per_page, total)


def memories(request):
    from directory.models import Memory

    account_id, user_id = _ids()
    page, per_page = _page(request, 20)
    queryset = Memory.objects.filter(account_id=account_id, user_id=user_id)
    total = queryset.count()
    offset = (page - 1) * per_page
    rows = list(queryset.order_by("-created_at", "-id").values(
        "id", "title", "content", "type", "tags", "created_at", "updated_at")[offset:offset + per_page])
    for row in rows:
        row["createdAt"] = _iso(row.pop("created_at"))
        row["updatedAt"] = _iso(row.pop("updated_at"))
    return _listing("memories", rows, page, per_page, total)


_principal: Principal | None = None


class FixedPrincipalAuthentication(BaseAuthentication):
    """The bench caller, loaded once per process: no token to verify, no user to look up."""

    def authenticate(self, request):
        global _principal
        if _principal is None:
            account_id, user_id = _ids()
            _principal = Principal(account=Account.objects.get(id=account_id), certificate_id="bench",
                                   user=User.objects.get(id=user_id))
        return _principal, None


class UnauthenticatedMessages(MessageViewSet):
    authentication_classes = [FixedPrincipalAuthentication]
    throttle_classes = []
