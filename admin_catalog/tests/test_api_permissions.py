"""Every catalog endpoint is for super admins only: staff certificate AND super-admin email domain."""
import pytest

from .factories import AgentFactory, SkillCategoryFactory, SkillFactory, TaskTemplateFactory

COLLECTIONS = ["/admin/skill-categories", "/admin/skills", "/admin/task-templates", "/admin/agents"]


@pytest.fixture
def rows(db):
    category = SkillCategoryFactory()
    return {
        "/admin/skill-categories": category.id,
        "/admin/skills": SkillFactory(category=category).id,
        "/admin/task-templates": TaskTemplateFactory().id,
        "/admin/agents": AgentFactory().id,
    }


@pytest.mark.smoke
@pytest.mark.parametrize("path", COLLECTIONS)
def test_non_staff_skej_token_is_refused_with_super_admin_required(eve, path):
    response = eve.client.get(path)
    assert response.status_code == 403
    assert response.json()["error_code"] == "super_admin_required"


@pytest.mark.smoke
@pytest.mark.parametrize("path", COLLECTIONS)
def test_staff_skej_token_is_allowed(ops, path):
    response = ops.client.get(path)
    assert response.status_code == 200 and response.json()["ok"] is True


@pytest.mark.parametrize("path", COLLECTIONS)
def test_staff_certificate_with_another_email_domain_is_refused(staff_outsider, path):
    assert staff_outsider.client.get(path).json()["error_code"] == "super_admin_required"


@pytest.mark.parametrize("path", COLLECTIONS)
def test_staff_management_token_is_refused(ops, path):
    assert ops.management().client.get(path).json()["error_code"] == "super_admin_required"


@pytest.mark.parametrize("path", COLLECTIONS)
def test_unauthenticated_call_answers_401(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 401 and response.json()["error_code"] == "authentication_required"


@pytest.mark.parametrize("path", COLLECTIONS)
def test_outsiders_cannot_read_change_or_delete_a_row(ops, eve, alice, rows, path):
    row_path = f"{path}/{rows[path]}"
    for caller in (eve, alice):
        client = caller.client
        for response in (client.get(row_path), client.put(row_path, {"description": "x"}),
                         client.delete(row_path), client.post(path, {"name": "x", "displayName": "X"})):
            assert response.status_code == 403
            assert response.json()["error_code"] == "super_admin_required"
    body = ops.client.get(row_path).json()
    (row,) = [value for key, value in body.items() if key != "ok"]
    assert row["id"] == rows[path] and row["description"] != "x"
    assert ops.client.get(path).json()["total"] == 1


@pytest.mark.parametrize("path", COLLECTIONS)
def test_unknown_id_answers_404(ops, path):
    response = ops.client.get(f"{path}/nope_123")
    assert response.status_code == 404 and response.json()["error_code"] == "not_found"


def test_reorder_is_refused_for_non_super_admins(eve, rows):
    response = eve.client.post("/admin/skill-categories/reorder", {"categoryIds": [rows["/admin/skill-categories"]]})
    assert response.status_code == 403 and response.json()["error_code"] == "super_admin_required"


def test_super_admin_is_decided_by_the_tokens_email_not_the_stored_one(db):
    """A staff-account user who moves their stored email to @skej.com gains nothing."""
    from tskr.testing import make_caller

    caller = make_caller("Skej", "intern@partner.test", staff=True)
    created = caller.client.post("/identifiers", {"type": "email", "value": "boss@skej.com", "verified": True})
    assert created.status_code == 201, created.json()
    moved = caller.client.post(f"/identifiers/{created.json()['identifier']['id']}/make-primary")
    assert moved.status_code == 200 and moved.json()["user"]["email"] == "boss@skej.com"
    response = caller.client.get("/admin/agents")
    assert response.status_code == 403
    assert response.json()["error_code"] == "super_admin_required"


@pytest.mark.parametrize(("path", "factory", "key"), [
    ("/admin/skill-categories", SkillCategoryFactory, "categories"), ("/admin/skills", SkillFactory, "skills"),
    ("/admin/task-templates", TaskTemplateFactory, "taskTemplates"), ("/admin/agents", AgentFactory, "agents")])
def test_catalog_lists_default_to_20_per_page_like_every_list(ops, path, factory, key):
    factory.create_batch(21)
    body = ops.client.get(path).json()
    assert (body["perPage"], body["total"], len(body[key])) == (20, 21, 20)


@pytest.mark.parametrize("email", ["ops@s\u212aej.com", "ops@S\u212aEJ.COM"])
def test_a_kelvin_sign_domain_is_not_the_super_admin_domain(ops, email):
    """Python's str.lower() turns the Kelvin sign (U+212A) into "k": only ASCII is folded."""
    response = ops.teammate(email).client.get("/admin/agents")
    assert response.status_code == 403 and response.json()["error_code"] == "super_admin_required"
