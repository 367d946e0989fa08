"""A refused enum names its allowed values, and a refused object reports every problem it has."""
from conversations.tests.factories import AssistantFactory, ChatFactory
from directory.models import UserIdentifier

from .test_errors import assert_error


def test_assistant_status_refusal_names_the_allowed_values(manager):
    body = assert_error(manager.client.post("/assistants", {"name": "Ava", "email": "ava@x.test", "status": "paused"}),
                        400, "validation_error")
    assert body["details"] == {"status": ['"paused" is not allowed; use one of: active, inactive']}


def test_message_role_and_platform_are_both_reported_with_their_allowed_values(alice):
    chat = ChatFactory(assistant=AssistantFactory(account=alice.account), account=alice.account)
    body = assert_error(alice.client.post(f"/chats/{chat.id}/messages",
                                          {"content": "Hi", "role": "system", "platform": "fax"}),
                        400, "validation_error")
    assert body["details"]["role"] == ['"system" is not allowed; use one of: user, assistant']
    assert body["details"]["platform"][0].startswith('"fax" is not allowed; use one of: email, sms, whatsapp')


def test_a_number_for_a_string_is_reported_with_the_objects_other_problems(manager):
    body = assert_error(manager.client.post("/assistants", {"name": 42, "email": "not an email", "status": "x"}),
                        400, "validation_error")
    assert set(body["details"]) == {"name", "email", "status"}


def test_preference_enums_name_their_values_and_unknown_keys_are_reported_with_them(alice):
    identifier = UserIdentifier.objects.get(user=alice.user, type="email")
    body = assert_error(alice.client.put(f"/identifiers/{identifier.id}/preferences/travel", {"preferences": {
        "cabinClass": "steerage", "seatPreference": "roof", "bogus": 1}}), 400, "validation_error")
    details = body["details"]
    assert details["preferences.cabinClass"] == [
        '"steerage" is not allowed; use one of: economy, premium_economy, business, first']
    assert details["preferences.seatPreference"] == ['"roof" is not allowed; use one of: aisle, window, middle']
    assert details["preferences.bogus"][0].startswith("Unknown key; allowed:")


def test_a_choice_message_a_field_declares_itself_is_kept(alice):
    body = assert_error(alice.client.post("/memories", {"title": "t", "content": "c", "type": "poem"}), 400,
                        "validation_error")
    assert "note" in body["details"]["type"][0]


def test_an_unknown_writing_style_key_is_reported_with_the_known_keys_problems(manager):
    body = assert_error(manager.client.post("/assistants", {"name": "Ava", "email": "ava@x.test",
                                                            "writingStyle": {"humor": 11, "sarcasm": 3}}),
                        400, "validation_error")
    assert set(body["details"]) == {"writingStyle.humor", "writingStyle.sarcasm"}
    assert body["details"]["writingStyle.sarcasm"] == ["Unknown key; allowed: professionalism, humor, emojiUse"]
