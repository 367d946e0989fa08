"""The local engine's understanding rules, one kind of phrasing per case (pure functions, no database)."""
import pytest

from conversations.engine.understanding import (
    calls_off,
    calls_on_assistant,
    detect_skill,
    is_letter_platform,
    mentions_time,
    moves_meeting,
    named_skill,
    names_place,
    needs_clarification,
    request_sentence,
    small_talk,
)


@pytest.mark.parametrize("text", [
    "could you find us 30 minutes next week?",  # a length of time to find
    "can we move my 1:1 to Thursday?",  # a meeting moved
    "need 2 hrs w/ the auditors",  # abbreviated
    "push my 11am to the afternoon",  # a meeting named by its time
    "please reschedule",
    "schedule it for whenever Dan is around",
    "get this on my calendar",
    "is Dan free on Friday?",
    "would love to meet up with the new VP",
    "Clear my morning tomorrow",
    "Schedule a follow-up call with Dan",  # a follow-up meeting is a meeting
    "could we do the budget call Monday instead",  # a meeting given a day
    "set something up with the auditors",
    "when can the three of us meet?",
])
def test_scheduling_is_a_meeting_asked_for(text):
    assert detect_skill(text) == "scheduling"


@pytest.mark.parametrize("text, skill", [
    ("remind me to stretch at 4", "reminders"),
    ("ping me when it's 5", "reminders"),
    ("give me a heads up on Friday", "reminders"),
    ("remind me to follow up with Dan", "reminders"),  # the reminder is for the person asking
    ("remind Dan that the report is due", "followups"),  # ... a reminder for someone else is a follow-up
    ("send Dan a reminder about the report", "followups"),
    ("if Dan hasn't replied by Monday, nudge him", "followups"),
    ("check back with Dan tomorrow", "followups"),
    ("poke them again if nothing comes", "followups"),
    ("touch base with Dan after the holidays", "followups"),
    ("stay on Dan about the figures", "followups"),
    ("set an alarm for 7", "reminders"),
    ("book me a flight to Oslo", "travel"),
    ("a train from Leeds to York on Friday", "travel"),
    ("I need a rental car in Rome", "travel"),
    ("remind me before my flight", "reminders"),  # a reminder about a flight is not a booking
])
def test_reminders_followups_and_travel_are_told_apart(text, skill):
    assert detect_skill(text) == skill


@pytest.mark.parametrize("text", [
    "What did we decide in the meeting with Dan?",  # a question about the past
    "call the bakery and say we're late",  # "call" as a verb, no meeting
    "lol thanks",
    "he answered, you can stop chasing",  # calling work off
    "never mind the meeting",
    "write a haiku about Mondays",
    "Nice to meet you too!",  # a greeting, not a meeting
    "we have to meet the deadline",
])
def test_no_skill_without_a_request_for_one(text):
    assert detect_skill(text) is None


@pytest.mark.parametrize("text, found", [
    ("on the 9th", True), ("before the 21st", True), ("in a week", True), ("10 minutes before the call", True),
    ("early March", True), ("Mondays at 9", True), ("for my trip to Rome", False), ("the quarterly report", False),
])
def test_times_include_ordinal_days_and_times_relative_to_events(text, found):
    assert mentions_time(text) is found


@pytest.mark.parametrize("skill, text, asks", [
    ("reminders", "remind me to water the plants", True), ("reminders", "remind me at 6", False),
    ("travel", "book me a flight to Oslo", True), ("travel", "fly me to Oslo on Dec 3", False),
    ("scheduling", "set up a call with Dan", False), ("followups", "follow up with Dan", False),
])
def test_only_a_reminders_time_and_a_trips_dates_need_asking(skill, text, asks):
    assert needs_clarification(skill, text) is asks


@pytest.mark.parametrize("text, calls", [
    ("looping in my assistant to find us a time", True),
    ("can the bot book it?", True),
    ("assistant, please share the agenda", True),
    ("my assistant is a lifesaver honestly", False),
    ("the bot is getting smarter than me", False),
    ("lunch at noon?", False),
])
def test_a_group_message_calls_on_the_assistant_when_it_asks_it_for_something(text, calls):
    assert calls_on_assistant(text) is calls


def test_the_request_sentence_is_the_one_asking_for_a_skill():
    assert request_sentence("Hi, this is Dan from Initech. Could we set up a call?") == "Could we set up a call?"
    assert request_sentence("Hello there. How are you?") == "Hello there."


def test_small_talk_is_thanks_or_hello_without_a_request():
    assert small_talk("great, thx") == "thanks" and small_talk("hey there") == "hello"
    assert small_talk("thanks, and remind me at 5") is None and small_talk("what's 2+2") is None


def test_only_email_is_written_as_a_letter():
    assert is_letter_platform("email")
    assert not any(is_letter_platform(platform) for platform in ("sms", "whatsapp", "slack", "teams", "chat"))


@pytest.mark.parametrize(("text", "skill"), [
    ("he replied, you can stop", None),
    ("never mind that reminder", "reminders"),
    ("scratch that, she already paid", None),
    ("no need to nudge him anymore", "followups"),
    ("forget it, cancel the meeting", "scheduling"),
    ("don't worry about the dinner booking", "scheduling"),
    ("cancel the hotel, the trip is off", "travel"),
])
def test_work_called_off_names_the_kind_of_task_it_means_if_any(text, skill):
    assert calls_off(text) and named_skill(text) == skill


@pytest.mark.parametrize("text", ["cancel my 3pm with Sam tomorrow", "can you cancel the call for 2pm",
                                  "stop by the office", "what should I cancel?"])
def test_a_meeting_named_by_its_time_or_other_words_is_not_work_called_off(text):
    assert not calls_off(text)


@pytest.mark.parametrize(("text", "moves"), [
    ("can we push it to Thursday instead?", True), ("actually make it Thursday afternoon", True),
    ("bump it an hour", True), ("let's do 3pm", True), ("bring it forward a day", True),
    ("Tuesday at 10am works", False), ("the second one", False), ("also set up a lunch with Priya", False),
])
def test_a_meeting_moved_is_told_from_an_answer_or_another_request(text, moves):
    assert moves_meeting(text) is moves


def test_places_are_capitalised_names_not_months_or_weekdays():
    assert names_place("also a hotel in Porto from the 12th to the 15th") == ["Porto"]
    assert names_place("flying to New York in March, back on Friday") == ["New York"]
    assert names_place("there from March 3rd to the 6th") == []
