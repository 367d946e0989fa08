"""Sessions, CSRF, Django authentication and messages run for the staff screens only, not the API."""
from django.contrib.auth import get_user_model
from django.test import Client


def test_an_api_request_gets_no_session_messages_or_csrf_check(alice):
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {alice.token()}")
    staff = get_user_model().objects.create_superuser("ops", "ops@tskr.test", "pw-for-tests")
    client.force_login(staff)  # a staff session cookie travels along, as from a browser
    response = client.post("/memories", {"title": "t", "content": "c"}, content_type="application/json")
    assert response.status_code == 201
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "_messages")
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")


def test_the_staff_screens_keep_sessions_authentication_and_csrf(db):
    staff = get_user_model().objects.create_superuser("ops", "ops@tskr.test", "pw-for-tests")
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.get("/staff/")
    assert response.status_code == 200
    assert response.wsgi_request.user == staff and hasattr(response.wsgi_request, "_messages")
    refused = Client(enforce_csrf_checks=True).post("/staff/login/", {"username": "ops", "password": "pw-for-tests"})
    assert refused.status_code == 403 and refused.json()["error_code"] == "csrf_failed"
