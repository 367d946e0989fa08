import factory

from accounts.models import Assistant
from conversations.models import Chat, EngineCall, Message


class AssistantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assistant

    name = "Tess"
    email = factory.Sequence(lambda n: f"tess{n}@acme.test")
    personality = "Calm and precise"
    signature = "Best,\nTess"
    writing_style = factory.LazyFunction(lambda: {"professionalism": 8, "humor": 2, "emojiUse": 0})


class ChatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Chat

    account = factory.SelfAttribute("assistant.account")
    assistant = factory.SubFactory(AssistantFactory)
    title = factory.Sequence(lambda n: f"Chat {n}")


class MessageFactory(factory.django.DjangoModelFactory):
    """A stored message without the counter bookkeeping: use services.message_add when counters matter."""

    class Meta:
        model = Message

    chat = factory.SubFactory(ChatFactory)
    account = factory.SelfAttribute("chat.account")
    content = "Hello"


class EngineCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EngineCall

    account = factory.SelfAttribute("assistant.account")
    assistant = factory.SubFactory(AssistantFactory)
    model = "claude-sonnet-4-5"
    input_tokens = 1000
    output_tokens = 100
    latency_ms = 800
    outcome = EngineCall.Outcome.REPLIED
