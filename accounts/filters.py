import django_filters

from tskr.api.filters import FilterSet
from tskr.emails import normalize_email

from .models import Assistant, Event, EventType, User, WebhookDelivery


class UserFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=User.Status.choices)
    email = django_filters.CharFilter(method="filter_email", help_text="Exact email, case-insensitive")
    externalId = django_filters.CharFilter(field_name="external_id")

    class Meta:
        model = User
        fields = ["status", "email", "externalId"]

    def filter_email(self, queryset, name, value):
        return queryset.filter(email=normalize_email(value))


class AssistantFilter(FilterSet):
    email = django_filters.CharFilter(method="filter_email", help_text="Exact email, case-insensitive")

    class Meta:
        model = Assistant
        fields = ["email"]

    def filter_email(self, queryset, name, value):
        return queryset.filter(email=normalize_email(value))


class WebhookDeliveryFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    eventType = django_filters.ChoiceFilter(field_name="event__type", choices=EventType.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["status", "eventType"]


class EventFilter(FilterSet):
    type = django_filters.ChoiceFilter(choices=EventType.choices)
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte",
                                             help_text="ISO 8601: events at or after this moment")

    class Meta:
        model = Event
        fields = ["type", "since"]
