import pytest

from .factories import AssistantFactory, ChatFactory
from .fake_anthropic import FakeAnthropic


@pytest.fixture
def assistant(alice):
    return AssistantFactory(account=alice.account, name="Tess", email="tess@acme.test")


@pytest.fixture
def chat(assistant):
    return ChatFactory(assistant=assistant)


@pytest.fixture
def anthropic_api(settings):
    """The real SDK pointed at a local fake of the Messages API (no network)."""
    fake = FakeAnthropic().start()
    settings.TSKR_AI_ENGINE = "anthropic"
    settings.ANTHROPIC_API_KEY = "sk-test-key"
    settings.ANTHROPIC_BASE_URL = fake.url
    settings.ANTHROPIC_MODEL = "claude-test-model"
    settings.TSKR_AI_TIMEOUT_SECONDS = 5
    settings.TSKR_AI_MAX_RETRIES = 1
    yield fake
    fake.stop()
