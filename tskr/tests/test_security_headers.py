"""Response headers a browser or a cache acts on, the offline /docs, and the staff sign-in throttle."""
import itertools
import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client

from tskr.staff import STAFF_LOGIN_MAX_FAILURES


def test_authenticated_json_is_never_stored_by_a_cache(alice, manager):
    assert alice.client.get("/memories")["Cache-Control"] == "no-store"
    assert manager.client.get("/users")["Cache-Control"] == "no-store"
    refused = Client().get("/users", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert refused.status_code == 401 and refused["Cache-Control"] == "no-store"


def test_hsts_is_sent_when_the_public_url_is_https(anonymous, settings, db):
    assert "Strict-Transport-Security" not in Client().get("/health")
    settings.TSKR_PUBLIC_URL = "https://api.example.test"
    assert Client().get("/health")["Strict-Transport-Security"] == "max-age=31536000"
    settings.TSKR_HSTS_SECONDS = 0
    assert "Strict-Transport-Security" not in Client().get("/health")


@pytest.mark.parametrize("path", ["/docs", "/staff/login/"])
def test_the_html_pages_carry_a_restrictive_content_security_policy(db, path):
    response = Client().get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "Content-Security-Policy" not in Client().get("/health")


def test_docs_load_swagger_ui_from_the_application_not_a_cdn(db):
    page = Client().get("/docs").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(asset.startswith("/") for asset in assets), assets
    assert "<script>" not in page  # no inline script: the start-up script is a file of its own
    for asset in assets:
        response = Client().get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body
    script = next(asset for asset in assets if "script" in asset)
    assert "/openapi.json" in Client().get(script).content.decode()


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser("ops", "ops@tskr.test", "right-password-for-tests")


_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


@pytest.fixture
def address():
    """A client address of this test's own: failure counts outlive a test in Redis."""
    return next(_addresses)


def _sign_in(password: str, *, address: str, username: str = "ops"):
    return Client(REMOTE_ADDR=address).post("/staff/login/", {"username": username, "password": password})


def test_staff_sign_in_is_refused_after_repeated_failures_even_with_the_right_password(staff_user, address):
    for _ in range(STAFF_LOGIN_MAX_FAILURES):
        assert _sign_in("wrong", address=address).status_code == 200  # the form again, with its error
    refused = _sign_in("right-password-for-tests", address=address)
    assert refused.status_code == 429 and refused.json()["error_code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    # Another address, or another username from the same address, is counted apart.
    assert _sign_in("right-password-for-tests", address=next(_addresses)).status_code == 302
    assert _sign_in("wrong", address=address, username="someone-else").status_code == 200


def test_a_successful_staff_sign_in_clears_the_failures(staff_user, address):
    for _ in range(STAFF_LOGIN_MAX_FAILURES - 1):
        _sign_in("wrong", address=address)
    assert _sign_in("right-password-for-tests", address=address).status_code == 302
    for _ in range(STAFF_LOGIN_MAX_FAILURES - 1):
        _sign_in("wrong", address=address)
    assert _sign_in("right-password-for-tests", address=address).status_code == 302


def test_staff_screen_headings_read_as_words(staff_user):
    assert [apps.get_app_config(label).verbose_name for label in ("tasks_app", "calendars_app", "admin_catalog")] \
        == ["Tasks", "Calendars", "Catalog"]
    client = Client()
    client.force_login(staff_user)
    page = client.get("/staff/").content.decode()
    assert "Tasks_App" not in page and "Calendars_App" not in page and "Admin_Catalog" not in page
    assert ">Catalog<" in page and ">Tasks<" in page and ">Calendars<" in page
