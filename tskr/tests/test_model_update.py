"""model_update: the one way services set fields on a row."""
import pytest

from directory.models import Memory
from tskr.services import model_update

pytestmark = pytest.mark.django_db


def test_fields_are_set_and_saved(alice):
    memory = Memory.objects.create(account=alice.account, user=alice.user, title="old", content="x")
    model_update(memory, {"title": "new", "user_id": alice.user.id})
    assert Memory.objects.get(id=memory.id).title == "new"


def test_a_name_that_is_not_a_column_is_refused_before_anything_is_set(alice):
    memory = Memory.objects.create(account=alice.account, user=alice.user, title="old", content="x")
    with pytest.raises(TypeError, match="titel"):
        model_update(memory, {"title": "new", "titel": "typo"})
    assert memory.title == "old"


def test_without_save_the_row_is_left_for_the_caller_to_save(alice):
    memory = Memory.objects.create(account=alice.account, user=alice.user, title="old", content="x")
    model_update(memory, {"title": "new"}, save=False)
    assert memory.title == "new" and Memory.objects.get(id=memory.id).title == "old"
