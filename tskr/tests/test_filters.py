"""tskr.api.filters.FilterSet: per-request filter copies are shallow, yet each request filters on its own."""
import pytest
from django.http import QueryDict

from tasks_app.filters import TaskFilter
from tasks_app.models import Task
from tskr.testing import run_together


def test_each_filterset_has_its_own_filters_bound_to_itself_and_shares_the_form_class():
    first = TaskFilter(QueryDict("mine=true"), Task.objects.none())
    second = TaskFilter(QueryDict(), Task.objects.none())
    assert first.filters["mine"] is not second.filters["mine"]
    assert first.filters["mine"].parent is first and second.filters["mine"].parent is second
    assert first.filters["mine"].filter.f is first.filters["mine"]  # the method filter resolves on its own copy
    assert TaskFilter.base_filters["mine"].filter.f is TaskFilter.base_filters["mine"]
    assert type(first.form) is type(second.form)
    assert first.is_valid() and first.form.cleaned_data["mine"] is True
    bad = TaskFilter(QueryDict("status=deleted"), Task.objects.none())
    assert not bad.is_valid() and "status" in bad.errors
    assert second.is_valid() and second.form.cleaned_data["status"] == ""


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_method_filters_each_filter_for_their_own_caller(alice, bob):
    for caller in (alice, bob):
        assert caller.client.post("/tasks", {"title": f"{caller.email}'s"}).status_code == 201
    clients = [caller.client for caller in (alice, bob) for _ in range(4)]
    bodies = run_together(*(lambda client=client: client.get("/tasks", {"mine": "true"}).json() for client in clients))
    titles = [[task["title"] for task in body["tasks"]] for body in bodies]
    assert titles == [["alice@acme.test's"]] * 4 + [["bob@acme.test's"]] * 4
