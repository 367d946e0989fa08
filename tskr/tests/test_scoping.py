"""ScopedViewSet.apply_scope: a queryset a selector already scoped is used as is, anything else is filtered."""
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.api.views import MemoryViewSet
from directory.models import Memory
from tasks_app.api.views import TaskViewSet
from tasks_app.models import Task
from tskr.principal import Principal

pytestmark = pytest.mark.django_db


def _view(viewset_class, caller):
    view = viewset_class()
    view.request = SimpleNamespace(user=Principal(account=caller.account, certificate_id="test", user=caller.user))
    return view


@pytest.fixture
def tasks(alice, charlie):
    ours = Task.objects.create(account=alice.account, title="ours", owner=alice.user)
    theirs = Task.objects.create(account=charlie.account, title="theirs", owner=alice.user)
    return ours, theirs


def _ids(queryset) -> set[str]:
    return set(queryset.values_list("id", flat=True))


def _where(queryset) -> str:
    with CaptureQueriesContext(connection) as captured:
        list(queryset)
    return captured.captured_queries[-1]["sql"].split(" WHERE ", 1)[1]


def test_a_queryset_already_scoped_to_the_account_is_used_as_is(alice, tasks):
    scoped = Task.objects.filter(account=alice.account).order_by("-created_at")
    result = _view(TaskViewSet, alice).apply_scope(scoped)
    assert result is scoped
    assert _where(result).count("account_id") == 1
    assert _ids(result) == {tasks[0].id}


@pytest.mark.parametrize("make_queryset", [
    lambda caller: Task.objects.all(),
    lambda caller: Task.objects.filter(owner__account=caller.account),  # another table's account column
    lambda caller: Task.objects.exclude(account=caller.account),  # the condition negated
    lambda caller: Task.objects.filter(account=caller.account) | Task.objects.filter(title="theirs"),  # under an OR
], ids=["unfiltered", "joined account", "negated", "or"])
def test_a_queryset_not_scoped_to_the_account_is_filtered(alice, tasks, make_queryset):
    result = _view(TaskViewSet, alice).apply_scope(make_queryset(alice))
    assert tasks[1].id not in _ids(result)


def test_an_unfiltered_queryset_lists_only_the_callers_rows(alice, tasks):
    assert _ids(_view(TaskViewSet, alice).apply_scope(Task.objects.all())) == {tasks[0].id}


def test_a_queryset_scoped_to_another_account_answers_nothing(alice, charlie, tasks):
    result = _view(TaskViewSet, alice).apply_scope(Task.objects.filter(account=charlie.account))
    assert _ids(result) == set()


def test_user_scope_filters_on_the_user_unless_already_filtered(alice, bob):
    mine = Memory.objects.create(account=alice.account, user=alice.user, title="mine", content="x")
    Memory.objects.create(account=alice.account, user=bob.user, title="bob's", content="y")
    view = _view(MemoryViewSet, alice)
    assert _ids(view.apply_scope(Memory.objects.filter(account=alice.account))) == {mine.id}
    already = Memory.objects.filter(account=alice.account, user=alice.user)
    assert view.apply_scope(already) is already
