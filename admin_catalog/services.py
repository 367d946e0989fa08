"""Writes of the platform-wide catalog, and rendering its templates' text (tasks_app builds the tasks).

Catalog writes take `actor` (the super admin's email, or a staff username from Django admin) and record
it in `created_by` / `updated_by`. Uniqueness is checked first for a clear 409 and enforced by the
database for races (the IntegrityError is mapped to the same 409).
"""
import re
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max, Model
from django.utils import timezone

from tskr.exceptions import BadRequest, Conflict, conflict_on_duplicate
from tskr.services import model_update

from . import builtin
from .models import Agent, Skill, SkillCategory, TaskTemplate

TITLE_MAX_LENGTH = 300
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


# -- template text ----------------------------------------------------------------------------------


def render_template_text(text: str, context: dict | None) -> str:
    """Replace `{name}` placeholders with `context[name]`; unknown placeholders stay as written.

    Deliberately not `str.format`: no attribute or index access (`{x.__class__}`), no format specs,
    and stray braces are plain text, so a template can never fail to render or leak internals.
    """
    if not text or not context:
        return text
    return _PLACEHOLDER.sub(lambda match: str(context[match[1]]) if match[1] in context else match[0], text)


def template_step_parts(step) -> tuple[str, str]:
    """A template step's (title, description): a step is a string, or `{"title", "description"}`."""
    if isinstance(step, str):
        return step, ""
    return step["title"], step.get("description", "")


# -- shared helpers ------------------------------------------------------------------------------------------

#: Per model: how to name it in the 409 for a taken name, and that 409's error code.
_NAME_TAKEN = {
    SkillCategory: ("A skill category", "skill_category_exists"),
    Skill: ("A skill", "skill_exists"),
    TaskTemplate: ("A task template", "task_template_exists"),
    Agent: ("An agent", "agent_exists"),
}


def _save(obj: Model, *, actor: str, fields: dict) -> Model:
    """Apply fields, stamp the actor, save. A taken name is a 409, checked first for a clear answer and
    caught on the unique index for the race between two writers."""
    label, error_code = _NAME_TAKEN[type(obj)]
    name = fields.get("name", obj.name)
    conflict = Conflict(f"{label} named '{name}' already exists", error_code=error_code)
    if "name" in fields and type(obj).objects.filter(name=name).exclude(pk=obj.pk).exists():
        raise conflict
    model_update(obj, fields, save=False)
    if obj._state.adding:
        obj.created_by = actor
    obj.updated_by = actor
    with conflict_on_duplicate(conflict):
        obj.save()
    return obj


# -- skill categories -------------------------------------------------------------------------------------


def display_name_from(name: str) -> str:
    """What a slug reads as: "productivity" -> "Productivity", "travel-planning" -> "Travel planning"."""
    return name.replace("-", " ").replace("_", " ").capitalize()


@transaction.atomic
def skill_category_create(*, actor: str, name: str, display_name: str = "", description: str = "",
                          sort_order: int | None = None) -> SkillCategory:
    """A new category goes last unless `sort_order` says otherwise; without a display name, its name is
    shown as words (the contract's examples name categories by slug only)."""
    display_name = display_name or display_name_from(name)
    if sort_order is None:
        highest = SkillCategory.objects.aggregate(highest=Max("sort_order"))["highest"]
        sort_order = 0 if highest is None else highest + 1
    return _save(SkillCategory(), actor=actor, fields={"name": name, "display_name": display_name,
                                                       "description": description, "sort_order": sort_order})


@transaction.atomic
def skill_category_update(*, category: SkillCategory, actor: str, **fields) -> SkillCategory:
    return _save(category, actor=actor, fields=fields)


@transaction.atomic
def skill_category_delete(*, category: SkillCategory) -> None:
    """Refuse (409 `skill_category_not_empty`) while skills still belong to the category."""
    count = Skill.objects.filter(category=category).count()
    if count:
        raise Conflict(f"The category still has {count} skill(s); move or delete them first",
                       error_code="skill_category_not_empty")
    category.delete()


@transaction.atomic
def skill_categories_reorder(*, actor: str, category_ids: list[str]) -> list[SkillCategory]:
    """Rewrite every category's sort_order (0, 1, 2...) from the full ordered list of ids.

    The rows are locked first so two concurrent reorders serialize instead of interleaving. The list
    must be exactly the set of existing ids, each once (400 `invalid_category_order` otherwise).
    """
    categories = {category.id: category for category in SkillCategory.objects.select_for_update().order_by("id")}
    if len(category_ids) != len(set(category_ids)) or set(category_ids) != set(categories):
        missing, unknown = set(categories) - set(category_ids), set(category_ids) - set(categories)
        raise BadRequest("categoryIds must list every skill category exactly once", error_code="invalid_category_order",
                         details={"categoryIds": [f"missing: {', '.join(sorted(missing)) or '-'}; "
                                                  f"unknown: {', '.join(sorted(unknown)) or '-'}; "
                                                  f"duplicates: {len(category_ids) - len(set(category_ids))}"]})
    now = timezone.now()
    ordered = []
    for position, category_id in enumerate(category_ids):
        category = categories[category_id]
        category.sort_order, category.updated_by, category.updated_at = position, actor, now
        ordered.append(category)
    SkillCategory.objects.bulk_update(ordered, ["sort_order", "updated_by", "updated_at"])
    return ordered


# -- skills ---------------------------------------------------------------------------------------------------


@transaction.atomic
def skill_create(*, actor: str, name: str, display_name: str, **fields) -> Skill:
    return _save(Skill(), actor=actor, fields={"name": name, "display_name": display_name, **fields})


@transaction.atomic
def skill_update(*, skill: Skill, actor: str, **fields) -> Skill:
    return _save(skill, actor=actor, fields=fields)


@transaction.atomic
def skill_delete(*, skill: Skill) -> None:
    """Refuse (409 `skill_in_use`) while agents or task templates use the skill.

    Deleting would silently strip the skill from agents (changing what assistants do) and orphan
    templates; the admin detaches it explicitly, or sets the skill's status to `disabled` instead.
    """
    agents = skill.agents.count()
    templates = TaskTemplate.objects.filter(skill=skill).count()
    if agents or templates:
        raise Conflict(f"The skill is used by {agents} agent(s) and {templates} task template(s); detach it "
                       f"first or set its status to disabled", error_code="skill_in_use")
    skill.delete()


# -- task templates -------------------------------------------------------------------------------------------


@transaction.atomic
def task_template_create(*, actor: str, name: str, display_name: str, **fields) -> TaskTemplate:
    return _save(TaskTemplate(), actor=actor, fields={"name": name, "display_name": display_name, **fields})


@transaction.atomic
def task_template_update(*, template: TaskTemplate, actor: str, **fields) -> TaskTemplate:
    return _save(template, actor=actor, fields=fields)


@transaction.atomic
def task_template_delete(*, template: TaskTemplate) -> None:
    """Tasks already built from the template are kept; their `template` link becomes null."""
    template.delete()


# -- agents -------------------------------------------------------------------------------------------------------


def agent_claim_default(*, agent: Agent, actor: str) -> None:
    """Take the default flag from whichever other agent has it; call in the transaction that saves `agent`.

    The partial unique index `one_default_agent` would refuse a second default, so the old one is unset
    first. Every agent row is locked (a small table) so concurrent claims queue up: the second one then
    sees and unsets the first one's new default instead of failing on the index.
    """
    list(Agent.objects.select_for_update().order_by("id").values_list("id", flat=True))
    Agent.objects.filter(is_default=True).exclude(id=agent.id).update(
        is_default=False, updated_by=actor, updated_at=timezone.now())


def _apply_agent(agent: Agent, *, actor: str, fields: dict, skills: Iterable[Skill] | None) -> Agent:
    """Save an agent; becoming the default takes the flag from the previous default in the same transaction."""
    is_default = fields.get("is_default", agent.is_default)
    status = fields.get("status", agent.status)
    if is_default and status != Agent.Status.ACTIVE:
        raise BadRequest("The default agent must be active", error_code="default_agent_inactive")
    if fields.get("is_default"):
        agent_claim_default(agent=agent, actor=actor)
    agent = _save(agent, actor=actor, fields=fields)
    if skills is not None:
        agent.skills.set(skills)
    return agent


@transaction.atomic
def agent_create(*, actor: str, name: str, skills: Iterable[Skill] = (), **fields) -> Agent:
    return _apply_agent(Agent(), actor=actor, fields={"name": name, **fields}, skills=skills)


@transaction.atomic
def agent_update(*, agent: Agent, actor: str, skills: Iterable[Skill] | None = None, **fields) -> Agent:
    """`skills`, when given, replaces the agent's whole skill set."""
    return _apply_agent(agent, actor=actor, fields=fields, skills=skills)


@transaction.atomic
def agent_delete(*, agent: Agent) -> None:
    """Refuse to delete the default agent (409 `agent_is_default`): make another agent the default first.

    Assistants using a deleted agent are detached (their agent becomes null) and fall back to the default.
    """
    if agent.is_default:
        raise Conflict("The default agent cannot be deleted; make another agent the default first",
                       error_code="agent_is_default")
    agent.delete()


# -- the built-in catalog -------------------------------------------------------------------------------------


@transaction.atomic
def catalog_seed(*, actor: str = "seed_catalog") -> dict[str, dict[str, int]]:
    """Install the built-in catalog (admin_catalog/builtin.py); rows that already exist are left untouched.

    Rows are matched by name, so a second run (or a run after staff edited a built-in row) changes
    nothing. The agent becomes the default only when no default agent exists yet. Answers per kind the
    number of rows created and unchanged.
    """
    counts = {kind: {"created": 0, "unchanged": 0} for kind in ("categories", "skills", "taskTemplates", "agents")}

    def ensure(model: type[Model], kind: str, fields: dict) -> tuple[Model, bool]:
        obj = model.objects.filter(name=fields["name"]).first()
        counts[kind]["unchanged" if obj else "created"] += 1
        if obj is not None:
            return obj, False
        return _save(model(), actor=actor, fields=fields), True

    category, _ = ensure(SkillCategory, "categories", builtin.CATEGORY)
    skills = {spec["name"]: ensure(Skill, "skills", {**spec, "category": category})[0] for spec in builtin.SKILLS}
    for spec in builtin.TEMPLATES:
        ensure(TaskTemplate, "taskTemplates", {**spec, "skill": skills[spec["skill"]]})
    no_default = not Agent.objects.filter(is_default=True).exists()
    agent, created = ensure(Agent, "agents", {**builtin.AGENT, "is_default": no_default})
    if created:
        agent.skills.set(skills.values())
    return counts
