from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .models import Account, Assistant, Event, User, Webhook, WebhookDelivery


def user_list(*, account: Account) -> QuerySet[User]:
    return User.objects.filter(account=account).order_by("-created_at", "-id")


def assistant_list(*, account: Account) -> QuerySet[Assistant]:
    return Assistant.objects.filter(account=account).order_by("created_at", "id")


def webhook_list(*, account: Account) -> QuerySet[Webhook]:
    return Webhook.objects.filter(account=account).order_by("-created_at", "-id")


def webhook_delivery_list(*, account: Account, webhook_id: str) -> QuerySet[WebhookDelivery]:
    """A webhook's delivery log, newest first, with each delivery's event type."""
    return (WebhookDelivery.objects.filter(account=account, webhook_id=webhook_id).select_related("event")
            .defer("event__data").order_by("-created_at", "-id"))


def event_list(*, account: Account) -> QuerySet[Event]:
    """The account's events still within TSKR_EVENT_RETENTION_DAYS, oldest first (to catch up in order)."""
    cutoff = timezone.now() - timedelta(days=settings.TSKR_EVENT_RETENTION_DAYS)
    return Event.objects.filter(account=account, created_at__gte=cutoff).order_by("created_at", "id")
