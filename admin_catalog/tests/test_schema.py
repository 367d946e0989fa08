import pytest
from django.test import Client


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return Client().get("/openapi.json").json()


def test_every_catalog_resource_has_list_get_create_update_delete(schema):
    for collection in ("skill-categories", "skills", "task-templates", "agents"):
        assert set(schema["paths"][f"/admin/{collection}"]) >= {"get", "post"}
        assert set(schema["paths"][f"/admin/{collection}/{{id}}"]) >= {"get", "put", "patch", "delete"}


def test_reorder_answers_the_whole_ordered_list_not_a_page(schema):
    body = schema["paths"]["/admin/skill-categories/reorder"]["post"]["responses"]["200"]["content"]
    assert body["application/json"]["schema"]["required"] == ["ok", "categories"]
    assert "super_admin_required" in schema["paths"]["/admin/skills"]["post"]["description"]
