"""Replies match their platform's register, through POST /chats/:id/process with the offline engine:
a letter by email, one short message without greeting or signature everywhere else."""
import pytest

from conversations.engine.understanding import CONVERSATIONAL_LIMIT

from .test_process import post, process

CONVERSATIONS = ["sms", "whatsapp", "slack", "teams", "chat"]
# a task created, a clarifying question, no request at all: every kind of reply the engine writes
REQUESTS = ["can we move my 1:1 with Dan to Thursday?", "remind me to renew my passport",
            "What's the weather like in Oslo tomorrow?", "lol thanks"]


@pytest.mark.parametrize("platform", CONVERSATIONS)
@pytest.mark.parametrize("content", REQUESTS)
def test_conversational_platforms_get_a_short_reply_without_greeting_or_signature(alice, chat, platform, content):
    post(alice, chat, content, platform=platform, **{"from": "alice@acme.test"})
    reply = process(alice, chat)["message"]["content"]
    assert not reply.lower().startswith(("hello", "hi alice,", "dear")), reply
    assert "Tess" not in reply and "Best," not in reply and "\n\n" not in reply, reply
    assert len(reply) <= CONVERSATIONAL_LIMIT


def test_an_email_reply_is_a_letter_with_greeting_and_signature(alice, chat):
    post(alice, chat, "Tess, what's the weather like in Oslo tomorrow?", platform="email",
         **{"from": "alice@acme.test", "to": ["tess@acme.test"], "subject": "Oslo"})
    reply = process(alice, chat)["message"]["content"]
    assert reply.startswith("Hello Alice,\n\n") and reply.endswith("\n\nBest,\nTess")


def test_the_short_reply_names_the_task_it_created(alice, chat):
    post(alice, chat, "could you find us 30 minutes next week with dan@initech.test?", platform="sms",
         **{"from": "alice@acme.test"})
    body = process(alice, chat)
    assert body["message"]["content"] == "I'm on it: Schedule: Find us 30 minutes next week with dan@initech.test."
    assert len(body["taskIds"]) == 1
