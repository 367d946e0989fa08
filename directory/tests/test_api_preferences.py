import pytest

from directory.models import IdentifierPreferences, UserIdentifier
from directory.preferences import DEFAULTS


@pytest.fixture
def email_identifier(alice):
    return UserIdentifier.objects.get(user=alice.user, type="email")


def _put(caller, identifier, skill, preferences):
    return caller.client.put(f"/identifiers/{identifier.id}/preferences/{skill}", {"preferences": preferences})


@pytest.mark.smoke
def test_get_all_preferences_answers_the_full_structure_with_defaults(alice, email_identifier):
    response = alice.client.get(f"/identifiers/{email_identifier.id}/preferences")
    assert response.status_code == 200
    document = response.json()["preferences"]
    assert document["id"] is None and document["createdAt"] is None
    assert document["account"] == alice.account.id and document["userIdentifier"] == email_identifier.id
    assert document["preferences"] == DEFAULTS
    assert document["preferences"]["scheduling"]["availability"]["workingHours"]["MO"] == [
        {"start": "09:00", "end": "17:00"}]
    assert document["preferences"]["reminders"]["teams"] == {"enabled": False, "inPersonMinutes": 30,
                                                            "virtualMinutes": 2}

    _put(alice, email_identifier, "followups", {"count": 4})
    stored = alice.client.get(f"/identifiers/{email_identifier.id}/preferences").json()["preferences"]
    assert stored["id"].startswith("pref_") and stored["updatedAt"].endswith("Z")
    assert stored["preferences"]["followups"] == {"enabled": True, "count": 4, "interval": 4320}


def test_put_merges_with_what_was_stored(alice, email_identifier):
    first = _put(alice, email_identifier, "reminders", {"level": "all-events", "slack": {
        "enabled": True, "inPersonMinutes": 30, "virtualMinutes": 2}})
    assert first.status_code == 200, first.json()
    second = _put(alice, email_identifier, "reminders", {"email": {"virtualMinutes": 15}})
    body = second.json()
    assert body["skill"] == "reminders"
    assert body["preferences"]["slack"] == {"enabled": True, "inPersonMinutes": 30, "virtualMinutes": 2}
    assert body["preferences"]["email"] == {"enabled": True, "inPersonMinutes": 30, "virtualMinutes": 15}
    got = alice.client.get(f"/identifiers/{email_identifier.id}/preferences/reminders").json()
    assert got == {"ok": True, "skill": "reminders", "preferences": body["preferences"]}


def test_patch_merges_like_put(alice, email_identifier):
    _put(alice, email_identifier, "followups", {"count": 1})
    response = alice.client.patch(f"/identifiers/{email_identifier.id}/preferences/followups",
                                  {"preferences": {"enabled": False}})
    assert response.json()["preferences"] == {"enabled": False, "count": 1, "interval": 4320}


def test_working_hours_replace_only_the_days_sent(alice, email_identifier):
    response = _put(alice, email_identifier, "scheduling", {"availability": {"workingHours": {
        "MO": [{"start": "13:00", "end": "17:00"}, {"start": "08:00", "end": "12:00"}], "SA": []},
        "workingHolidays": ["2026-12-25"]}, "calendars": {"write": "cal_123", "read": ["cal_123", "cal_456"]}})
    assert response.status_code == 200, response.json()
    scheduling = response.json()["preferences"]
    assert scheduling["availability"]["workingHours"]["MO"] == [{"start": "08:00", "end": "12:00"},
                                                                {"start": "13:00", "end": "17:00"}]
    assert scheduling["availability"]["workingHours"]["TU"] == [{"start": "09:00", "end": "17:00"}]
    assert scheduling["calendars"] == {"read": ["cal_123", "cal_456"], "write": ["cal_123"]}
    assert scheduling["buffers"] == DEFAULTS["scheduling"]["buffers"]
    one_element = _put(alice, email_identifier, "scheduling", {"calendars": {"write": ["cal_9"]}})
    assert one_element.json()["preferences"]["calendars"]["write"] == ["cal_9"]


@pytest.mark.parametrize("skill, preferences, path", [
    ("scheduling", {"availability": {"workingHours": {"XX": []}}}, "preferences.availability.workingHours.XX"),
    ("scheduling", {"availability": {"workingHours": {"MO": [{"start": "9:00", "end": "17:00"}]}}},
     "preferences.availability.workingHours.MO.0.start"),
    ("scheduling", {"availability": {"workingHours": {"MO": [{"start": "17:00", "end": "09:00"}]}}},
     "preferences.availability.workingHours.MO.0.end"),
    ("scheduling", {"availability": {"workingHours": {"TU": [{"start": "09:00", "end": "12:00"},
                                                             {"start": "11:00", "end": "13:00"}]}}},
     "preferences.availability.workingHours.TU"),
    ("scheduling", {"availability": {"workingHours": {"MO": [{"start": "09:00", "end": "10:00", "x": 1}]}}},
     "preferences.availability.workingHours.MO.0.x"),
    ("scheduling", {"availability": {"workingHolidays": ["2026-02-30"]}},
     "preferences.availability.workingHolidays.0"),
    ("scheduling", {"availability": {"workingHolidays": ["25/12/2026"]}},
     "preferences.availability.workingHolidays.0"),
    ("scheduling", {"defaults": {"supervision": "sometimes"}}, "preferences.defaults.supervision"),
    ("scheduling", {"defaults": {"virtual": {"conferenceSolution": "skype"}}},
     "preferences.defaults.virtual.conferenceSolution"),
    ("scheduling", {"calendars": {"write": ["a", "b"]}}, "preferences.calendars.write"),
    ("scheduling", {"buffers": {"bufferType": "huge"}}, "preferences.buffers.bufferType"),
    ("scheduling", {"buffers": {"bufferLength": -5}}, "preferences.buffers.bufferLength"),
    ("reminders", {"level": "some"}, "preferences.level"),
    ("reminders", {"email": {"virtualMinutes": -1}}, "preferences.email.virtualMinutes"),
    ("reminders", {"sms": {"enabled": True}}, "preferences.sms"),
    ("followups", {"count": 6}, "preferences.count"),
    ("followups", {"count": -1}, "preferences.count"),
    ("followups", {"interval": -10}, "preferences.interval"),
    ("travel", {"seatPreference": "wing"}, "preferences.seatPreference"),
    ("travel", {"cabinClass": "steerage"}, "preferences.cabinClass"),
    ("travel", {"airlinePreferences": "UA"}, "preferences.airlinePreferences"),
    ("travel", None, "preferences"),
])
def test_put_rejects_invalid_values_naming_the_field_path(alice, email_identifier, skill, preferences, path):
    response = _put(alice, email_identifier, skill, preferences)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["error_code"] == "validation_error" and path in body["details"], body
    assert not IdentifierPreferences.objects.exists()


def test_put_needs_the_preferences_key(alice, email_identifier):
    response = alice.client.put(f"/identifiers/{email_identifier.id}/preferences/travel", {"cabinClass": "first"})
    assert response.status_code == 400 and "preferences" in response.json()["details"]


@pytest.mark.parametrize("method", ["get", "put"])
def test_an_unknown_skill_is_a_404(alice, email_identifier, method):
    response = getattr(alice.client, method)(f"/identifiers/{email_identifier.id}/preferences/cooking",
                                             {"preferences": {}} if method == "put" else None)
    assert response.status_code == 404 and response.json()["error_code"] == "unknown_skill"


def test_null_resets_optional_travel_values_and_management_tokens_may_set_preferences(manager, alice,
                                                                                      email_identifier):
    _put(alice, email_identifier, "travel", {"seatPreference": "aisle", "airlinePreferences": ["UA", "AA"]})
    response = _put(manager, email_identifier, "travel", {"seatPreference": None, "mealPreference": "vegetarian"})
    assert response.status_code == 200
    assert response.json()["preferences"] == {"seatPreference": None, "cabinClass": "economy",
                                              "mealPreference": "vegetarian", "airlinePreferences": ["UA", "AA"]}


def test_preferences_need_a_token(anonymous, alice, email_identifier):
    assert anonymous.get(f"/identifiers/{email_identifier.id}/preferences").status_code == 401
    assert anonymous.put(f"/identifiers/{email_identifier.id}/preferences/travel", {}).status_code == 401


def test_preference_schemas_are_in_the_openapi_document(anonymous):
    schema = anonymous.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for name in ("SchedulingPreferences", "RemindersPreferences", "FollowupsPreferences", "TravelPreferences"):
        assert name in components, name
    assert components["FollowupsPreferences"]["properties"]["count"]["maximum"] == 5
    put = schema["paths"]["/identifiers/{id}/preferences/{skillName}"]["put"]
    assert put["responses"]["200"] and put["requestBody"]
