"""The identifier staff screen writes through directory's services (Django's test client, a staff user)."""
from django.contrib.admin.models import LogEntry

from directory.models import UserIdentifier
from tskr.testing import admin_error_messages

from .factories import IdentifierFactory


def _email_identifier(user, value: str, **fields) -> UserIdentifier:
    return IdentifierFactory(user=user, type=UserIdentifier.Type.EMAIL, value=value, verified=True, **fields)


def test_making_an_email_primary_in_the_admin_relinks_the_users_login_email(admin_client, alice):
    other = _email_identifier(alice.user, "alice.work@acme.test")
    response = admin_client.post(f"/staff/directory/useridentifier/{other.id}/change/", {
        "label": "", "verified": "on", "primary": "on", "metadata": "{}", "platforms": "{}"})
    assert response.status_code == 302
    alice.user.refresh_from_db()
    assert alice.user.email == "alice.work@acme.test"
    assert list(UserIdentifier.objects.filter(user=alice.user, primary=True).values_list("id", flat=True)) == [other.id]


def test_deleting_a_users_last_email_is_refused_with_a_message(admin_client, alice):
    only = UserIdentifier.objects.get(user=alice.user, type=UserIdentifier.Type.EMAIL)
    response = admin_client.post(f"/staff/directory/useridentifier/{only.id}/delete/", {"post": "yes"}, follow=True)
    assert any("(last_email_identifier)" in message for message in admin_error_messages(response))
    assert UserIdentifier.objects.filter(id=only.id).exists()
    assert not LogEntry.objects.exists()  # the admin's history does not record a deletion that did not happen


def test_an_identifier_added_in_the_admin_is_normalised(admin_client, alice):
    response = admin_client.post("/staff/directory/useridentifier/add/", {
        "account": alice.account.id, "user": alice.user.id, "type": "email", "value": " Second@ACME.test ",
        "label": "", "metadata": "{}", "platforms": "{}"})
    assert response.status_code == 302
    assert UserIdentifier.objects.filter(user=alice.user, value="second@acme.test").exists()


def test_an_identifier_cannot_link_a_user_of_another_account(admin_client, alice, charlie):
    response = admin_client.post("/staff/directory/useridentifier/add/", {
        "account": alice.account.id, "user": charlie.user.id, "type": "phone", "value": "+14155550100",
        "label": "", "metadata": "{}", "platforms": "{}"}, follow=True)
    assert any("(user_not_in_account)" in message for message in admin_error_messages(response))
    assert not UserIdentifier.objects.filter(value="+14155550100").exists()


def test_what_the_service_owns_is_read_only(admin_client, alice):
    identifier = UserIdentifier.objects.get(user=alice.user)
    form = admin_client.get(f"/staff/directory/useridentifier/{identifier.id}/change/").context["adminform"].form
    assert not {"account", "user", "type", "value", "value_as_given", "proven_by_token"} & set(form.fields)
    assert {"label", "verified", "primary", "metadata", "platforms"} <= set(form.fields)
