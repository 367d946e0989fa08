"""ScopedViewSet owns get_queryset/get_object: subclasses only narrow rows that are already the caller's."""
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from admin_catalog.api.views import SkillCategoryViewSet
from admin_catalog.models import SkillCategory
from directory.api.views import MemoryViewSet
from directory.models import Memory
from tasks_app.api.views import TaskViewSet
from tasks_app.models import Task
from tskr.api.principal import Principal
from tskr.api.viewsets import ScopedViewSet, UnscopedPlatformViewSet
from tskr.exceptions import NotFound

pytestmark = pytest.mark.django_db


def _view(viewset_class, caller, action="list", **kwargs):
    view = viewset_class()
    view.request = SimpleNamespace(user=Principal(account=caller.account, certificate_id="test", user=caller.user))
    view.action, view.kwargs, view.format_kwarg = action, kwargs, None
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


@pytest.mark.parametrize("method", ["get_queryset", "get_object"])
def test_a_subclass_overriding_what_the_base_owns_fails_at_class_creation(method):
    with pytest.raises(ImproperlyConfigured, match=method):
        type("LeakyViewSet", (ScopedViewSet,), {method: lambda self: Task.objects.all()})


def test_a_subclass_of_an_app_viewset_cannot_override_them_either():
    with pytest.raises(ImproperlyConfigured, match="get_queryset"):
        type("LeakyTaskViewSet", (TaskViewSet,), {"get_queryset": lambda self: Task.objects.all()})


def test_the_list_is_scoped_once_and_then_narrowed_by_the_app(alice, tasks):
    queryset = _view(TaskViewSet, alice).get_queryset()
    assert _ids(queryset) == {tasks[0].id}
    assert _where(queryset).count("account_id") == 1


def test_narrowing_sees_only_the_callers_rows(alice, tasks):
    class WideningViewSet(ScopedViewSet):
        queryset = Task.objects.all()

        def narrow_queryset(self, queryset):
            return queryset.filter(title__in=["ours", "theirs"])

    assert _ids(_view(WideningViewSet, alice).get_queryset()) == {tasks[0].id}


def test_another_accounts_id_is_not_found(alice, tasks):
    with pytest.raises(NotFound):
        _view(TaskViewSet, alice, action="retrieve", pk=tasks[1].id).get_object()
    assert _view(TaskViewSet, alice, action="retrieve", pk=tasks[0].id).get_object() == tasks[0]


def test_user_scope_lists_only_the_calling_users_rows(alice, bob):
    mine = Memory.objects.create(account=alice.account, user=alice.user, title="mine", content="x")
    Memory.objects.create(account=alice.account, user=bob.user, title="bob's", content="y")
    queryset = _view(MemoryViewSet, alice).get_queryset()
    assert _ids(queryset) == {mine.id}
    assert _where(queryset).count("user_id") == 1


def test_the_named_bypass_lists_platform_rows_of_no_account(alice):
    category = SkillCategory.objects.create(name="scoping-test", display_name="Scoping")
    assert issubclass(SkillCategoryViewSet, UnscopedPlatformViewSet)
    assert category.id in _ids(_view(SkillCategoryViewSet, alice).get_queryset())
