"""Skills (contract: "Skills API (Admin)"). Outsider personas: see test_api_permissions."""
import pytest

from admin_catalog.models import Skill

from .factories import AgentFactory, SkillCategoryFactory, SkillFactory, TaskTemplateFactory

CONTRACT_BODY = {"name": "scheduling", "displayName": "Scheduling", "icon": "Calendar", "color": "#3B82F6",
                 "description": "Schedule meetings and manage calendars", "category": "productivity",
                 "status": "available"}


@pytest.fixture
def productivity(db):
    return SkillCategoryFactory(name="productivity")


@pytest.mark.smoke
def test_create_with_the_contract_example_answers_the_full_skill(ops, productivity):
    response = ops.client.post("/admin/skills", CONTRACT_BODY)
    assert response.status_code == 201
    skill = response.json()["skill"]
    assert skill["id"].startswith("skill_")
    assert {k: skill[k] for k in ("name", "displayName", "status")} == {
        "name": "scheduling", "displayName": "Scheduling", "status": "available"}
    assert (skill["category"], skill["categoryId"]) == ("productivity", productivity.id)
    assert (skill["icon"], skill["color"], skill["createdBy"]) == ("Calendar", "#3B82F6", "ops@skej.com")


def test_category_may_be_given_by_id_or_left_out(ops, productivity):
    by_id = ops.client.post("/admin/skills", {**CONTRACT_BODY, "category": productivity.id}).json()["skill"]
    assert by_id["category"] == "productivity"
    bare = ops.client.post("/admin/skills", {"name": "travel", "displayName": "Travel"}).json()["skill"]
    assert (bare["category"], bare["categoryId"], bare["status"]) == (None, None, "available")


def test_unknown_category_answers_validation_error(ops):
    response = ops.client.post("/admin/skills", CONTRACT_BODY)
    assert response.status_code == 400
    assert response.json()["details"] == {"category": ["Unknown skill category 'productivity'"]}


@pytest.mark.parametrize("color", ["blue", "#12345", "3B82F6", "#GGGGGG", "#3B82F6AA"])
def test_color_must_be_hex(ops, productivity, color):
    response = ops.client.post("/admin/skills", {**CONTRACT_BODY, "color": color})
    assert response.status_code == 400 and list(response.json()["details"]) == ["color"]


def test_short_hex_color_and_beta_status_are_accepted(ops, productivity):
    skill = ops.client.post("/admin/skills", {**CONTRACT_BODY, "color": "#abc", "status": "beta"}).json()["skill"]
    assert (skill["color"], skill["status"]) == ("#abc", "beta")


def test_unknown_status_is_refused(ops, productivity):
    response = ops.client.post("/admin/skills", {**CONTRACT_BODY, "status": "retired"})
    assert response.status_code == 400 and "status" in response.json()["details"]


def test_create_with_a_taken_name_answers_409(ops, productivity):
    SkillFactory(name="scheduling")
    response = ops.client.post("/admin/skills", CONTRACT_BODY)
    assert response.status_code == 409 and response.json()["error_code"] == "skill_exists"


def test_update_moves_the_skill_and_can_clear_its_category(ops, productivity):
    skill = SkillFactory()
    moved = ops.client.put(f"/admin/skills/{skill.id}", {"category": "productivity", "status": "disabled"})
    assert moved.status_code == 200
    assert (moved.json()["skill"]["category"], moved.json()["skill"]["status"]) == ("productivity", "disabled")
    cleared = ops.client.patch(f"/admin/skills/{skill.id}", {"category": None}).json()["skill"]
    assert cleared["categoryId"] is None and cleared["updatedBy"] == "ops@skej.com"


def test_get_and_filtered_list(ops, productivity):
    scheduling = SkillFactory(name="scheduling", category=productivity)
    SkillFactory(name="travel", status=Skill.Status.COMING_SOON)
    assert ops.client.get(f"/admin/skills/{scheduling.id}").json()["skill"]["name"] == "scheduling"
    client = ops.client
    assert [s["name"] for s in client.get("/admin/skills", {"category": "productivity"}).json()["skills"]] == [
        "scheduling"]
    assert [s["name"] for s in client.get("/admin/skills", {"status": "coming_soon"}).json()["skills"]] == ["travel"]
    assert client.get("/admin/skills", {"status": "bogus"}).status_code == 400


def test_list_query_count_does_not_grow_with_page_size(ops, django_assert_max_num_queries):
    for _ in range(6):
        SkillFactory()
    client = ops.client
    client.get("/admin/skills")  # first call provisions the user and touches the certificate
    # auth: certificate, user (2); count; page of skills joined with their category
    for per_page in (2, 6):
        with django_assert_max_num_queries(4):
            assert len(client.get("/admin/skills", {"perPage": per_page}).json()["skills"]) == per_page


def test_delete_an_unused_skill(ops):
    skill = SkillFactory()
    response = ops.client.delete(f"/admin/skills/{skill.id}")
    assert response.json()["skill"] == {"id": skill.id, "message": "Skill deleted successfully"}
    assert not Skill.objects.filter(id=skill.id).exists()


@pytest.mark.parametrize("user", ["agent", "template"])
def test_delete_a_skill_in_use_answers_409_and_keeps_it(ops, user):
    skill = SkillFactory()
    if user == "agent":
        AgentFactory(skills=[skill])
    else:
        TaskTemplateFactory(skill=skill)
    response = ops.client.delete(f"/admin/skills/{skill.id}")
    assert response.status_code == 409 and response.json()["error_code"] == "skill_in_use"
    assert Skill.objects.filter(id=skill.id).exists()
