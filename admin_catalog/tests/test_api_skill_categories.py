"""Skill categories (contract: "Skill Categories API (Admin)"). Outsider personas: see test_api_permissions."""
import pytest

from admin_catalog.models import SkillCategory

from .concurrency import race
from .factories import SkillCategoryFactory, SkillFactory


@pytest.mark.smoke
def test_create_records_the_super_admin_and_puts_the_category_last(ops):
    SkillCategoryFactory(sort_order=7)
    response = ops.client.post("/admin/skill-categories", {"name": "productivity", "displayName": "Productivity",
                                                           "description": "Get things done"})
    assert response.status_code == 201
    category = response.json()["category"]
    assert category["id"].startswith("skcat_") and category["name"] == "productivity"
    assert category["sortOrder"] == 8 and category["description"] == "Get things done"
    assert category["createdBy"] == "ops@skej.com" and category["updatedBy"] == "ops@skej.com"
    assert category["createdAt"].endswith("Z")


def test_create_with_a_taken_name_answers_409(ops):
    SkillCategoryFactory(name="productivity")
    response = ops.client.post("/admin/skill-categories", {"name": "productivity", "displayName": "Again"})
    assert response.status_code == 409 and response.json()["error_code"] == "skill_category_exists"


def test_create_validates_the_slug_and_required_fields(ops):
    response = ops.client.post("/admin/skill-categories", {"name": "Not a slug!", "displayName": ""})
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "validation_error" and set(body["details"]) == {"name", "displayName"}
    assert set(ops.client.post("/admin/skill-categories", {}).json()["details"]) == {"name"}


@pytest.mark.parametrize(("name", "display_name"), [("productivity", "Productivity"),
                                                    ("travel-planning", "Travel planning")])
def test_create_without_display_name_derives_it_from_the_name(ops, name, display_name):
    response = ops.client.post("/admin/skill-categories", {"name": name})
    assert response.status_code == 201, response.json()
    assert response.json()["category"]["displayName"] == display_name
    assert SkillCategory.objects.get(name=name).display_name == display_name


def test_update_changes_fields_and_the_updater(ops):
    category = SkillCategoryFactory(created_by="first@skej.com")
    response = ops.client.put(f"/admin/skill-categories/{category.id}", {"displayName": "Renamed", "sortOrder": 3})
    assert response.status_code == 200
    body = response.json()["category"]
    assert (body["displayName"], body["sortOrder"], body["name"]) == ("Renamed", 3, category.name)
    assert (body["createdBy"], body["updatedBy"]) == ("first@skej.com", "ops@skej.com")


def test_update_to_another_categorys_name_answers_409(ops):
    SkillCategoryFactory(name="taken")
    category = SkillCategoryFactory()
    response = ops.client.put(f"/admin/skill-categories/{category.id}", {"name": "taken"})
    assert response.status_code == 409 and response.json()["error_code"] == "skill_category_exists"


def test_get_returns_one_category(ops):
    category = SkillCategoryFactory(name="travel-desk")
    response = ops.client.get(f"/admin/skill-categories/{category.id}")
    assert response.json()["category"]["name"] == "travel-desk"


def test_delete_an_empty_category(ops):
    category = SkillCategoryFactory()
    response = ops.client.delete(f"/admin/skill-categories/{category.id}")
    assert response.status_code == 200
    assert response.json()["category"] == {"id": category.id, "message": "Skill category deleted successfully"}
    assert not SkillCategory.objects.exists()


@pytest.mark.smoke
def test_delete_a_category_with_skills_answers_409_and_keeps_it(ops):
    category = SkillCategoryFactory()
    SkillFactory(category=category)
    response = ops.client.delete(f"/admin/skill-categories/{category.id}")
    assert response.status_code == 409 and response.json()["error_code"] == "skill_category_not_empty"
    assert SkillCategory.objects.filter(id=category.id).exists()


def test_list_is_in_sort_order(ops):
    late, early = SkillCategoryFactory(sort_order=5), SkillCategoryFactory(sort_order=1)
    body = ops.client.get("/admin/skill-categories").json()
    assert [c["id"] for c in body["categories"]] == [early.id, late.id]
    assert (body["page"], body["perPage"], body["total"]) == (1, 20, 2)


def test_list_query_count_does_not_grow_with_page_size(ops, django_assert_max_num_queries):
    SkillCategoryFactory.create_batch(6)
    client = ops.client
    client.get("/admin/skill-categories")  # first call provisions the user and touches the certificate
    # auth: certificate, user (2); count; page of categories
    for per_page in (2, 6):
        with django_assert_max_num_queries(4):
            assert len(client.get("/admin/skill-categories", {"perPage": per_page}).json()["categories"]) == per_page


# -- reorder ---------------------------------------------------------------------------------------------------


@pytest.fixture
def three(db):
    return [SkillCategoryFactory(sort_order=position) for position in range(3)]


@pytest.mark.smoke
def test_reorder_rewrites_sort_order_from_the_list(ops, three):
    a, b, c = three
    response = ops.client.post("/admin/skill-categories/reorder", {"categoryIds": [c.id, a.id, b.id]})
    assert response.status_code == 200
    assert [(x["id"], x["sortOrder"]) for x in response.json()["categories"]] == [(c.id, 0), (a.id, 1), (b.id, 2)]
    assert list(SkillCategory.objects.order_by("sort_order").values_list("id", flat=True)) == [c.id, a.id, b.id]
    assert set(SkillCategory.objects.values_list("updated_by", flat=True)) == {"ops@skej.com"}


@pytest.mark.parametrize("make_ids", [
    lambda a, b, c: [a.id, b.id],                  # one missing
    lambda a, b, c: [a.id, b.id, c.id, "skcat_x"],  # one unknown
    lambda a, b, c: [a.id, b.id, b.id],            # duplicate instead of c
    lambda a, b, c: [a.id, b.id, c.id, c.id],      # duplicate on top
    lambda a, b, c: [],                            # none
], ids=["missing", "unknown", "duplicate-swap", "duplicate-extra", "empty"])
def test_reorder_with_a_list_that_is_not_exactly_the_ids_answers_400_and_changes_nothing(ops, three, make_ids):
    response = ops.client.post("/admin/skill-categories/reorder", {"categoryIds": make_ids(*three)})
    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_category_order"
    assert [c.sort_order for c in SkillCategory.objects.order_by("sort_order")] == [0, 1, 2]
    assert list(SkillCategory.objects.order_by("sort_order").values_list("id", flat=True)) == [c.id for c in three]


def test_reorder_without_the_list_answers_validation_error(ops, three):
    response = ops.client.post("/admin/skill-categories/reorder", {"categoryIds": "nope"})
    assert response.status_code == 400 and response.json()["error_code"] == "validation_error"
    assert "categoryIds" in response.json()["details"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_reorders_never_interleave(ops):
    """Two reorders race; the result is exactly one of the two orders, never a mix."""
    categories = [SkillCategory.objects.create(name=f"c{i}", display_name=f"C{i}", sort_order=i) for i in range(6)]
    ids = [c.id for c in categories]
    orders = [ids, list(reversed(ids))]
    statuses = race(ops, [("POST", "/admin/skill-categories/reorder", {"categoryIds": order}) for order in orders])
    assert statuses == [200, 200]
    final = list(SkillCategory.objects.order_by("sort_order").values_list("id", flat=True))
    assert final in orders
    assert sorted(SkillCategory.objects.values_list("sort_order", flat=True)) == list(range(6))
