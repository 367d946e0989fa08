import django_filters
from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from tskr.api.filters import FilterSet

from .models import Approval, Task
from .selectors import task_filter_mine
from .services import TASK_TYPE_PATTERN, TASK_TYPE_RULE


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanStringFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`, anything else a 400 (a silently ignored typo would widen the list)."""

    def __init__(self, **kwargs):
        super().__init__(choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true",
                         **kwargs)


class TaskFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Task.Status.choices)
    type = django_filters.CharFilter(validators=[RegexValidator(TASK_TYPE_PATTERN, f"Type {TASK_TYPE_RULE}")])
    mine = BooleanStringFilter(
        method="filter_mine", help_text="true: only tasks the calling user owns or follows (default false)")

    class Meta:
        model = Task
        fields = ["status", "type", "mine"]

    def filter_mine(self, queryset, name, value):
        if not value:
            return queryset
        return task_filter_mine(queryset, user=self.request.user.user)


class ApprovalFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Approval.Status.choices)
    taskId = django_filters.CharFilter(field_name="task_id")

    class Meta:
        model = Approval
        fields = ["status", "taskId"]
