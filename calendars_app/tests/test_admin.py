"""The staff screens at /staff/ show grants and calendars, never a token (plain or encrypted)."""
from .conftest import connect
from .factories import UserCalendarFactory


def test_the_oauth_grant_pages_never_show_tokens(admin_client, providers, identifier):
    access = connect(providers, identifier)
    secrets = [access.access_token, access.refresh_token, access.access_token_encrypted,
               access.refresh_token_encrypted]
    for path in ["/staff/calendars_app/oauthaccess/", f"/staff/calendars_app/oauthaccess/{access.id}/change/"]:
        response = admin_client.get(path)
        assert response.status_code == 200
        page = response.content.decode()
        assert access.id in page and not any(secret in page for secret in secrets)


def test_the_calendar_page_lists_its_links(admin_client, identifier):
    link = UserCalendarFactory(identifier=identifier)
    response = admin_client.get(f"/staff/calendars_app/calendar/{link.calendar.id}/change/")
    assert response.status_code == 200 and identifier.value in response.content.decode()
