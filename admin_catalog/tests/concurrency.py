"""Firing API requests at the same moment, for the tests that check locking."""
from tskr.testing import ApiClient, run_together


def race(caller, requests: list[tuple[str, str, dict]]) -> list[int]:
    """Send (method, path, body) requests from threads released together; answers their status codes.

    Needs committed data: use in `django_db(transaction=True)` tests.
    """
    clients = [ApiClient(caller.token()) for _ in requests]
    return [outcome.status_code for outcome in run_together(
        *(lambda client=client, request=request: client.request(*request) for client, request in zip(clients, requests)))]
