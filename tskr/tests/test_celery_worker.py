import pytest

from tskr.tasks import ping
from tskr.testing import running_celery_worker


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_queued_tasks_through_redis():
    with running_celery_worker():
        assert ping.delay("pong").get(timeout=20) == "pong"
