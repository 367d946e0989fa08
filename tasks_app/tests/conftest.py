import pytest

from accounts.services import assistant_create
from conversations.tests.conftest import anthropic_api  # noqa: F401  the real SDK against the local fake API


@pytest.fixture
def assistant(alice):
    return assistant_create(account=alice.account, name="Tess", email="tess@acme.test", signature="Best,\nTess")


@pytest.fixture
def local_engine(settings):
    settings.TSKR_AI_ENGINE = "local"
