"""The user and assistant staff screens write through accounts' services (Django's test client, a staff user)."""
from accounts.models import User
from admin_catalog.tests.factories import AgentFactory
from calendars_app.models import Calendar
from calendars_app.tests.factories import UserCalendarFactory
from directory.models import UserIdentifier
from directory.tests.factories import IdentifierFactory
from tskr.testing import admin_error_messages


def test_adding_a_user_gives_them_their_email_identifier(admin_client, alice):
    response = admin_client.post("/staff/accounts/user/add/", {
        "account": alice.account.id, "email": "Dana@Acme.test", "first_name": "Dana", "status": "active"})
    assert response.status_code == 302
    user = User.objects.get(account=alice.account, email="dana@acme.test")
    assert UserIdentifier.objects.filter(user=user, type="email", value="dana@acme.test", primary=True).exists()


def test_adding_a_user_whose_email_is_a_login_alias_is_refused_with_a_message(admin_client, alice):
    IdentifierFactory(user=alice.user, type="email", value="old@acme.test", verified=True, proven_by_token=True)
    response = admin_client.post("/staff/accounts/user/add/", {
        "account": alice.account.id, "email": "old@acme.test", "status": "active"}, follow=True)
    assert any("(user_exists)" in message for message in admin_error_messages(response))
    assert not User.objects.filter(email="old@acme.test").exists()


def test_deactivating_a_user_takes_effect_on_their_next_request(admin_client, alice):
    client = alice.client
    assert client.get("/memories").status_code == 200  # the user is now cached by this process
    response = admin_client.post(f"/staff/accounts/user/{alice.user.id}/change/", {
        "first_name": "Alice", "last_name": "Archer", "status": "inactive"})
    assert response.status_code == 302
    assert client.get("/memories").json()["error_code"] == "user_inactive"


def test_a_users_email_and_account_are_read_only_once_created(admin_client, alice):
    form = admin_client.get(f"/staff/accounts/user/{alice.user.id}/change/").context["adminform"].form
    assert not {"email", "account"} & set(form.fields)


def test_deleting_a_user_deletes_the_calendars_only_they_linked(admin_client, alice):
    link = UserCalendarFactory(identifier=IdentifierFactory(user=alice.user))
    response = admin_client.post(f"/staff/accounts/user/{alice.user.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Calendar.objects.filter(id=link.calendar_id).exists()


def test_an_assistant_gets_only_an_assignable_agent(admin_client, alice):
    inactive = AgentFactory(status="inactive")
    response = admin_client.post("/staff/accounts/assistant/add/", {
        "account": alice.account.id, "name": "Tess", "email": "tess@acme.test", "status": "active",
        "agent": inactive.id, "personality": "", "signature": "", "writing_style": "{}"}, follow=True)
    assert admin_error_messages(response)
    assert not alice.account.assistants.exists()


def test_there_is_no_bulk_delete_around_the_services(admin_client, alice):
    response = admin_client.get("/staff/accounts/user/")
    assert "delete_selected" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
