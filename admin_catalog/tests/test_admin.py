"""The staff screens at /staff/: listing, searching, inline skills, sort order editing, audit and the default agent."""
import pytest

from admin_catalog.models import Agent, Skill, SkillCategory, TaskTemplate
from tskr.testing import admin_error_messages

from .factories import AgentFactory, SkillCategoryFactory, SkillFactory, TaskTemplateFactory


@pytest.fixture
def staff(admin_client):
    return admin_client


@pytest.mark.parametrize("model", ["skillcategory", "skill", "tasktemplate", "agent"])
def test_each_catalog_model_has_a_searchable_filterable_list(staff, model):
    SkillFactory(name="scheduling", category=SkillCategoryFactory(name="productivity"))
    response = staff.get(f"/staff/admin_catalog/{model}/", {"q": "sched"})
    assert response.status_code == 200
    assert response.context["cl"].search_fields


def test_search_finds_skills_by_name(staff):
    SkillFactory(name="scheduling")
    SkillFactory(name="travel")
    response = staff.get("/staff/admin_catalog/skill/", {"q": "trav"})
    assert [skill.name for skill in response.context["cl"].result_list] == ["travel"]


def test_category_page_shows_its_skills_inline(staff):
    category = SkillCategoryFactory()
    SkillFactory(name="scheduling", category=category)
    response = staff.get(f"/staff/admin_catalog/skillcategory/{category.id}/change/")
    assert response.status_code == 200
    assert b"scheduling" in response.content and b"skills-TOTAL_FORMS" in response.content


def test_sort_order_is_editable_in_the_category_list_and_stamps_the_staff_member(staff):
    first, second = SkillCategoryFactory(sort_order=0), SkillCategoryFactory(sort_order=1)
    response = staff.post("/staff/admin_catalog/skillcategory/", {
        "form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
        "form-0-id": first.id, "form-0-sort_order": "5", "form-1-id": second.id, "form-1-sort_order": "1",
        "_save": "Save"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.sort_order == 5 and first.updated_by == "admin@example.com"


def test_adding_a_skill_records_who_created_it_and_validates_the_color(staff):
    data = {"name": "travel", "display_name": "Travel", "status": "available", "color": "red"}
    refused = staff.post("/staff/admin_catalog/skill/add/", data)
    assert refused.status_code == 200 and "color" in refused.context["adminform"].form.errors
    staff.post("/staff/admin_catalog/skill/add/", {**data, "color": "#FF0000"})
    skill = Skill.objects.get(name="travel")
    assert skill.created_by == skill.updated_by == "admin@example.com"


def test_skill_in_use_cannot_be_deleted_from_the_admin(staff):
    skill = SkillFactory()
    TaskTemplateFactory(skill=skill)
    refused = staff.post(f"/staff/admin_catalog/skill/{skill.id}/delete/", {"post": "yes"}, follow=True)
    assert refused.redirect_chain[-1][0] == f"/staff/admin_catalog/skill/{skill.id}/change/"
    assert any("(skill_in_use)" in message for message in admin_error_messages(refused))
    unused = SkillFactory()
    assert staff.post(f"/staff/admin_catalog/skill/{unused.id}/delete/", {"post": "yes"}).status_code == 302
    assert list(Skill.objects.all()) == [skill]


def test_template_steps_are_validated_like_the_api(staff):
    data = {"name": "trip", "display_name": "Trip", "task_type": "travel", "default_status": "pending",
            "status": "active", "steps": '[{"nope": 1}]'}
    refused = staff.post("/staff/admin_catalog/tasktemplate/add/", data)
    assert refused.status_code == 200 and "steps" in refused.context["adminform"].form.errors
    staff.post("/staff/admin_catalog/tasktemplate/add/", {**data, "steps": '["Find flights", {"title": "Hotel"}]'})
    assert TaskTemplate.objects.get(name="trip").steps == ["Find flights", {"title": "Hotel"}]


def test_saving_a_default_agent_in_the_admin_takes_the_flag_from_the_previous_one(staff):
    previous = AgentFactory(is_default=True)
    data = {"name": "New default", "model": "m", "temperature": "0.3", "max_tokens": "1024", "status": "active",
            "is_default": "on"}
    response = staff.post("/staff/admin_catalog/agent/add/", data)
    assert response.status_code == 302
    assert list(Agent.objects.filter(is_default=True).values_list("name", flat=True)) == ["New default"]
    previous.refresh_from_db()
    assert previous.updated_by == "admin@example.com"


def test_the_agent_services_rules_answer_in_the_admin_as_messages(staff):
    default = AgentFactory(is_default=True)
    data = {"name": "Off", "model": "m", "temperature": "0.3", "max_tokens": "1024", "status": "inactive",
            "is_default": "on"}
    inactive = staff.post("/staff/admin_catalog/agent/add/", data, follow=True)
    assert any("(default_agent_inactive)" in message for message in admin_error_messages(inactive))
    assert not Agent.objects.filter(name="Off").exists()
    refused = staff.post(f"/staff/admin_catalog/agent/{default.id}/delete/", {"post": "yes"}, follow=True)
    assert any("(agent_is_default)" in message for message in admin_error_messages(refused))
    assert Agent.objects.filter(id=default.id).exists()


def test_category_with_skills_is_protected_from_deletion(staff):
    category = SkillCategoryFactory()
    SkillFactory(category=category)
    staff.post(f"/staff/admin_catalog/skillcategory/{category.id}/delete/", {"post": "yes"})
    assert SkillCategory.objects.filter(id=category.id).exists()


def test_the_audit_stamps_are_read_only(staff):
    skill = SkillFactory()
    form = staff.get(f"/staff/admin_catalog/skill/{skill.id}/change/").context["adminform"].form
    assert not {"created_by", "updated_by"} & set(form.fields)


def test_the_category_page_offers_no_skill_edits_that_would_bypass_the_service(staff):
    category = SkillCategoryFactory()
    SkillFactory(category=category)
    formset = staff.get(f"/staff/admin_catalog/skillcategory/{category.id}/change/").context["inline_admin_formsets"][0]
    assert not {"name", "display_name", "status"} & set(formset.formset.forms[0].fields)
