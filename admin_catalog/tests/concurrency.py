"""Firing API requests at the same moment, for the tests that check locking."""
import threading

from django.db import connection

from tskr.testing import ApiClient


def race(caller, requests: list[tuple[str, str, dict]]) -> list[int]:
    """Send (method, path, body) requests from threads released together; answers their status codes.

    Needs committed data: use in `django_db(transaction=True)` tests.
    """
    tokens = [caller.token() for _ in requests]
    barrier = threading.Barrier(len(requests))
    statuses = []

    def send(token, request):
        method, path, body = request
        try:
            barrier.wait()
            statuses.append(ApiClient(token).request(method, path, body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=args) for args in zip(tokens, requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses
