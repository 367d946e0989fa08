import pytest

from calendars_app import services
from directory.models import UserIdentifier

from .fake_providers import FakeProviders

#: our platform name -> the fake's path prefix
FAKE_PLATFORM = {"google": "google", "azure": "microsoft"}


@pytest.fixture
def providers(settings):
    """The production client code pointed at a loopback fake of Google and Microsoft (no network)."""
    fake = FakeProviders().start()
    for name, value in fake.settings_values().items():
        setattr(settings, name, value)
    settings.TSKR_SYNC_MODE = "inline"
    settings.TSKR_PUBLIC_URL = "https://api.tskr.test"
    # The seeds have fixed dates: a wide occurrence window keeps them in it whatever today is (the
    # window's own tests narrow it).
    settings.TSKR_SYNC_EVENTS_PAST_DAYS = settings.TSKR_SYNC_EVENTS_FUTURE_DAYS = 3650
    yield fake
    fake.stop()


@pytest.fixture
def identifier(alice):
    """Alice's email identifier (created when she is provisioned), granted calendars and contacts on both."""
    identifier = UserIdentifier.objects.get(account=alice.account, user=alice.user, type="email")
    identifier.platforms = {"google": {"accessGranted": ["calendars.read", "contacts.read"]},
                            "azure": {"accessGranted": ["calendars.read", "contacts.read"]}}
    identifier.save()
    return identifier


def connect(fake: FakeProviders, identifier: UserIdentifier, platform: str = "google"):
    """Give the identifier tokens the fake recognises, as an integrator would with PUT .../oauth/:platform."""
    access_token, refresh_token = fake.issue_tokens(FAKE_PLATFORM[platform])
    return services.oauth_access_set(account=identifier.account, identifier=identifier, platform=platform,
                                     access_token=access_token, refresh_token=refresh_token)


def sync(identifier: UserIdentifier, **kwargs):
    identifier.refresh_from_db()
    return services.identifier_sync_resources(account=identifier.account, identifier=identifier, **kwargs)


def seed_google(fake: FakeProviders) -> None:
    """Three calendars (two pages of two), events on two of them, three people."""
    fake.google_calendar("alice@acme.test", "Alice Archer", primary=True)
    fake.google_calendar("team@group.calendar.google.com", "Team", access_role="writer", time_zone="Europe/Paris",
                         color="#16A765")
    fake.google_calendar("holidays@group.v.calendar.google.com", "Holidays", access_role="reader")
    for n in range(3):
        fake.google_event("alice@acme.test", f"evt{n}", f"2026-03-0{n + 1}T10:00:00-05:00",
                          f"2026-03-0{n + 1}T11:00:00-05:00", transparency="transparent" if n == 2 else "")
    fake.google_event("team@group.calendar.google.com", "standup", "2026-03-02T09:00:00Z", "2026-03-02T09:15:00Z")
    fake.google_person("people/c1", "Dana Diaz", "dana@partner.test", company="Partner", title="CTO")
    fake.google_person("people/c2", "Eli Ek", "ELI@partner.test")
    fake.google_person("people/c3", "Fay Fox", "fay@vendor.test")


def seed_graph(fake: FakeProviders) -> None:
    fake.graph_calendar("AAMk-default", "Calendar", default=True, owner="alice@acme.test")
    fake.graph_calendar("AAMk-shared", "Shared with me", can_edit=False, owner="boss@acme.test")
    fake.graph_calendar("AAMk-team", "Team Outlook", can_edit=True, owner="team@acme.test")
    fake.graph_event("AAMk-default", "m1", "2026-03-01T10:00:00", "2026-03-01T11:00:00")
    fake.graph_event("AAMk-default", "m2", "2026-03-01T12:00:00", "2026-03-01T13:00:00", show_as="free")
    fake.graph_event("AAMk-default", "m3", "2026-03-02T12:00:00", "2026-03-02T13:00:00", show_as="tentative")
    fake.graph_contact("c1", "Gus Gray", "gus@client.test", company="Client")
    fake.graph_contact("c2", "Hal Hu", "hal@client.test")
