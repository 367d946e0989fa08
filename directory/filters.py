import django_filters
from django.db.models import Q

from tskr.api.filters import FilterSet

from .lookups import json_array_contains_all
from .models import Contact, Memory, UserIdentifier
from .validation import ensure_choice


def _tag_list(value: str) -> list[str]:
    return [tag.strip() for tag in value.split(",") if tag.strip()]


class TagsFilterMixin(FilterSet):
    tags = django_filters.CharFilter(method="filter_tags",
                                     help_text="Comma-separated; an item must carry every listed tag")

    def filter_tags(self, queryset, name, value):
        tags = _tag_list(value)
        return queryset.filter(json_array_contains_all("tags", tags)) if tags else queryset


class MemoryFilter(TagsFilterMixin):
    type = django_filters.CharFilter(method="filter_type", help_text="note, preference, fact or context")
    search = django_filters.CharFilter(method="filter_search",
                                       help_text="Case-insensitive substring of the title or the content")

    class Meta:
        model = Memory
        fields = ["type", "tags", "search"]

    def filter_type(self, queryset, name, value):
        return queryset.filter(type=ensure_choice(value, Memory.Type.values, "type"))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(title__icontains=value) | Q(content__icontains=value)) if value else queryset


class ContactFilter(TagsFilterMixin):
    search = django_filters.CharFilter(method="filter_search",
                                       help_text="Case-insensitive substring of the name, email or company")
    company = django_filters.CharFilter(field_name="company", lookup_expr="iexact",
                                        help_text="Exact company name, case-insensitive")

    class Meta:
        model = Contact
        fields = ["search", "tags", "company"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value) | Q(company__icontains=value))


class IdentifierFilter(FilterSet):
    type = django_filters.CharFilter(method="filter_type", help_text="email, phone, slack, teams or external_id")
    userId = django_filters.CharFilter(field_name="user_id", help_text="Identifiers linked to this user")

    class Meta:
        model = UserIdentifier
        fields = ["type", "userId"]

    def filter_type(self, queryset, name, value):
        return queryset.filter(type=ensure_choice(value, UserIdentifier.Type.values, "type"))
