import re

import django_filters
from django.db.models import TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from tskr.api.filters import FilterSet
from tskr.exceptions import BadRequest

from .models import Chat

_METADATA_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


class ChatFilter(FilterSet):
    """`status` (default active), `assistantId`, and `metadata.<key>=<value>` for any top-level key.

    Metadata values are compared as text, so `metadata.priority=2` matches `{"priority": 2}` and
    `{"priority": "2"}` alike.
    """

    status = django_filters.ChoiceFilter(choices=Chat.Status.choices, method="filter_status",
                                         help_text="active (default) or archived")
    assistantId = django_filters.CharFilter(field_name="assistant_id")

    class Meta:
        model = Chat
        fields = ["status", "assistantId"]

    def filter_status(self, queryset, name, value):
        return queryset  # applied in filter_queryset, which also supplies the default

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        queryset = queryset.filter(status=self.form.cleaned_data.get("status") or Chat.Status.ACTIVE)
        for index, (param, value) in enumerate(self.data.items()):
            if not param.startswith("metadata."):
                continue
            key = param[len("metadata."):]
            if not _METADATA_KEY.match(key) or "__" in key:
                raise BadRequest(f"Invalid metadata filter key '{key}'", error_code="invalid_filter")
            alias = f"metadata_{index}"
            # Cast: on SQLite an aliased key transform is compared as JSON (the value would be parsed as JSON)
            queryset = queryset.alias(**{alias: Cast(KT(f"metadata__{key}"), TextField())}).filter(**{alias: value})
        return queryset
