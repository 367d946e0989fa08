import pytest

from accounts.services import assistant_create
from conversations.tests.fake_anthropic import FakeAnthropic


@pytest.fixture
def assistant(alice):
    return assistant_create(account=alice.account, name="Tess", email="tess@acme.test", signature="Best,\nTess")


@pytest.fixture
def anthropic_api(settings):
    """The real Anthropic SDK pointed at the conversations app's local fake of the Messages API."""
    fake = FakeAnthropic().start()
    settings.TSKR_AI_ENGINE = "anthropic"
    settings.ANTHROPIC_API_KEY = "sk-test-key"
    settings.ANTHROPIC_BASE_URL = fake.url
    settings.ANTHROPIC_MODEL = "claude-test-model"
    settings.TSKR_AI_TIMEOUT_SECONDS = 5
    settings.TSKR_AI_MAX_RETRIES = 1
    yield fake
    fake.stop()


@pytest.fixture
def local_engine(settings):
    settings.TSKR_AI_ENGINE = "local"
