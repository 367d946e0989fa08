import pytest

from .webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver(settings):
    """A local receiver; private addresses (and http://) are allowed for it, as in development."""
    settings.TSKR_WEBHOOKS_ALLOW_PRIVATE = True
    server = WebhookReceiver()
    yield server
    server.close()
