from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .models import Assistant, Event, User, Webhook, WebhookDelivery


def user_list(*, queryset: QuerySet[User]) -> QuerySet[User]:
    """Users of one account (`queryset`, already scoped), newest first."""
    return queryset.order_by("-created_at", "-id")


def assistant_list(*, queryset: QuerySet[Assistant]) -> QuerySet[Assistant]:
    """Assistants of one account (`queryset`, already scoped), oldest first."""
    return queryset.order_by("created_at", "id")


def webhook_list(*, queryset: QuerySet[Webhook]) -> QuerySet[Webhook]:
    """Webhooks of one account (`queryset`, already scoped), newest first."""
    return queryset.order_by("-created_at", "-id")


def webhook_delivery_list(*, queryset: QuerySet[WebhookDelivery], webhook_id: str) -> QuerySet[WebhookDelivery]:
    """A webhook's delivery log (`queryset`, already scoped), newest first, with each delivery's event type."""
    return (queryset.filter(webhook_id=webhook_id).select_related("event")
            .defer("event__data").order_by("-created_at", "-id"))


def event_list(*, queryset: QuerySet[Event]) -> QuerySet[Event]:
    """The account's events (`queryset`, already scoped) still within TSKR_EVENT_RETENTION_DAYS, oldest first
    (to catch up in order)."""
    cutoff = timezone.now() - timedelta(days=settings.TSKR_EVENT_RETENTION_DAYS)
    return queryset.filter(created_at__gte=cutoff).order_by("created_at", "id")
