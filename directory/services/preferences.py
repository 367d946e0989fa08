"""Writes of preferences: a skill's values, validated and merged into what an identifier stored."""
from django.db import transaction

from .. import hooks
from .. import preferences as skill_preferences
from ..models import IdentifierPreferences, UserIdentifier


@transaction.atomic
def preferences_set(*, identifier: UserIdentifier, skill: str, values: dict) -> dict:
    """Validate `values` strictly and merge them into what is stored for `skill`; returns the skill's full view.

    An unknown skill is a 404 `unknown_skill`; invalid values a 400 naming the field paths.
    """
    values = skill_preferences.validated_skill_values(skill, values)
    stored, _ = IdentifierPreferences.objects.select_for_update().get_or_create(
        user_identifier=identifier, defaults={"account_id": identifier.account_id})
    stored.data = {**stored.data, skill: skill_preferences.deep_merge(stored.data.get(skill, {}), values)}
    stored.save(update_fields=["data", "updated_at"])
    hooks.preferences_changed(identifier=identifier, skill=skill)
    return skill_preferences.skill_view(stored.data, skill)
