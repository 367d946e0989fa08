"""Resource sync: calendars, their events and contacts pulled from Google and Microsoft.

Why a sync is not one transaction: it spans many HTTP round trips, so each provider page is
committed on its own and the cursor (sync token / delta link) is saved only after the last page.
A sync killed half-way therefore leaves upserted rows and the old cursor; the next run repeats the
interrupted round and converges: upserts are keyed by provider ids (no duplicates), and a full
round removes what the provider no longer lists. One sync per identifier at a time (a Redis lock,
kept alive before every provider request).
"""
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.events import event_emit
from accounts.models import Account, EventType
from directory.models import UserIdentifier
from directory.services import MAX_IMPORT_CONTACTS, contacts_bulk_import
from tskr.exceptions import ApplicationError, BadRequest, Conflict, ServiceUnavailable
from tskr.infra.locks import Lock, hold_lock

from .. import crypto, hooks, providers
from ..models import Calendar, CalendarEvent, OAuthAccess, UserCalendar
from ..providers.base import (
    ApiSession, ProviderError, ProviderUnavailable, ReconsentRequired, SyncTokenExpired, TokenSet, provider_config,
)
from ..providers.records import RemoteCalendar, RemoteContact
from .oauth import granted_access, identifier_platform_flags_set

logger = logging.getLogger("calendars_app.sync")


class SyncAlreadyRunning(Conflict):
    error_code = "sync_in_progress"
    default_message = "A sync of this identifier is already running; try again shortly"


@dataclass
class SyncResult:
    calendars_synced: int = 0
    contacts_synced: int = 0
    errors: list[dict] = field(default_factory=list)
    #: a provider was unavailable: worth retrying later (the queued task does)
    transient: bool = False

    def add_error(self, platform: str, resource: str, exc: ProviderError, calendar_id: str | None = None) -> None:
        entry = {"platform": platform, "resource": resource, "errorCode": exc.code, "error": str(exc)}
        if calendar_id:
            entry["calendarId"] = calendar_id
        self.errors.append(entry)
        self.transient = self.transient or isinstance(exc, ProviderUnavailable)

    def as_dict(self) -> dict:
        return {"calendarsSynced": self.calendars_synced, "contactsSynced": self.contacts_synced,
                "errors": self.errors}


def _lock_name(identifier_id: str) -> str:
    return f"calendars_app:sync:{identifier_id}"


def _sync_lock(identifier_id: str):
    return hold_lock(_lock_name(identifier_id), settings.TSKR_SYNC_LOCK_SECONDS * 1000, on_busy=SyncAlreadyRunning())


def _keep_alive(lock: Lock) -> None:
    """Before each provider request: a sync that lost its lock (expired while stalled) stops, so that
    two syncs of one identifier never interleave."""
    if not lock.extend():
        raise SyncAlreadyRunning("The sync lock expired while syncing; another sync may have taken over")


def tokens_refreshed(tokens: TokenSet, *, access_id: str) -> None:
    """Persist refreshed tokens at once, outside the page transactions: Microsoft invalidates the old
    refresh token as soon as it hands out a new one, so losing this write would lose the grant."""
    changes = {"access_token_encrypted": crypto.encrypt(tokens.access_token), "expires_at": tokens.expires_at,
               "updated_at": timezone.now()}
    if tokens.refresh_token:
        changes["refresh_token_encrypted"] = crypto.encrypt(tokens.refresh_token)
    if tokens.scopes:
        changes["scopes"] = tokens.scopes
    OAuthAccess.objects.filter(id=access_id).update(**changes)


def _open_session(access: OAuthAccess, lock: Lock) -> ApiSession:
    return ApiSession(provider_config(access.platform), access_token=access.access_token,
                      refresh_token=access.refresh_token, expires_at=access.expires_at,
                      on_refresh=partial(tokens_refreshed, access_id=access.id), heartbeat=partial(_keep_alive, lock))


@transaction.atomic
def mark_reconsent(access: OAuthAccess, message: str) -> None:
    OAuthAccess.objects.filter(id=access.id).update(status=OAuthAccess.Status.NEEDS_RECONSENT,
                                                    last_error=message[:500], updated_at=timezone.now())
    identifier_platform_flags_set(identifier_id=access.identifier_id, platform=access.platform, needsReconsent=True)
    event_emit(account_id=access.account_id, type=EventType.IDENTIFIER_OAUTH_REAUTHORIZATION_REQUIRED,
               data={"identifierId": access.identifier_id, "platform": access.platform, "error": message})


# -- calendars ---------------------------------------------------------------------------------

def _calendar_link(*, identifier: UserIdentifier, platform: str, remote: RemoteCalendar) -> None:
    calendar, _ = Calendar.objects.update_or_create(
        account_id=identifier.account_id, platform=platform, reference_id=remote.reference_id,
        defaults={"name": remote.name, "timezone": remote.timezone, "background_color": remote.background_color,
                  "conference_solutions": remote.conference_solutions})
    UserCalendar.objects.update_or_create(
        calendar=calendar, identifier=identifier,
        defaults={"account_id": identifier.account_id, "user_id": identifier.user_id, "role": remote.role,
                  "is_primary": remote.is_primary})


def _calendar_unlink(links) -> None:
    """Remove links; a calendar nobody links to any more goes too (with its events)."""
    calendar_ids = list(links.values_list("calendar_id", flat=True))
    links.delete()
    Calendar.objects.filter(id__in=calendar_ids, links__isnull=True).delete()


def _pull_calendar_list(*, access: OAuthAccess, identifier: UserIdentifier, session: ApiSession,
                        sync_token: str) -> None:
    seen: set[str] = set()
    mine = UserCalendar.objects.filter(identifier=identifier, calendar__platform=access.platform)
    for page in providers.calendar_pages(access.platform, session, sync_token=sync_token,
                                         owner_address=identifier.value):
        with transaction.atomic():
            for remote in page.items:
                if remote.deleted:
                    _calendar_unlink(mine.filter(calendar__reference_id=remote.reference_id))
                else:
                    seen.add(remote.reference_id)
                    _calendar_link(identifier=identifier, platform=access.platform, remote=remote)
            if page.last:
                if not page.incremental:
                    _calendar_unlink(mine.exclude(calendar__reference_id__in=seen))
                OAuthAccess.objects.filter(id=access.id).update(calendars_sync_token=page.sync_token)


#: A full round (instead of one from the cursor) once the window kept has aged this much, so that it
#: moves forward: occurrences that fell out of the past end go, those entering the future end come.
WINDOW_REFRESH = timedelta(days=1)
_EVENT_FIELDS = ["title", "start", "end", "all_day", "start_date", "end_date", "status", "transparency",
                 "response_status", "has_conference", "updated_at"]


def _event_window(now) -> tuple:
    return (now - timedelta(days=settings.TSKR_SYNC_EVENTS_PAST_DAYS),
            now + timedelta(days=settings.TSKR_SYNC_EVENTS_FUTURE_DAYS))


def _event_cursor(calendar: Calendar) -> str:
    """The cursor to go on from, or "" (a full round) when no window is kept yet or it has aged."""
    window_start = calendar.events_window_start
    if window_start is None or window_start < _event_window(timezone.now())[0] - WINDOW_REFRESH:
        return ""
    return calendar.last_sync_token


def _pull_events(*, calendar: Calendar, session: ApiSession, sync_token: str) -> None:
    seen: set[str] = set()
    window = _event_window(timezone.now())
    for page in providers.event_pages(calendar.platform, session, reference_id=calendar.reference_id,
                                      sync_token=sync_token, window=window):
        latest = {event.provider_id: event for event in page.items}
        gone = [provider_id for provider_id, event in latest.items() if event.deleted]
        rows = [CalendarEvent(calendar=calendar, provider_id=event.provider_id, title=event.title, start=event.start,
                              end=event.end, all_day=event.all_day, start_date=event.start_date,
                              end_date=event.end_date, status=event.status, transparency=event.transparency,
                              response_status=event.response_status, has_conference=event.has_conference)
                for event in latest.values() if not event.deleted]
        seen.update(row.provider_id for row in rows)
        with transaction.atomic():
            if gone:
                CalendarEvent.objects.filter(calendar=calendar, provider_id__in=gone).delete()
            if rows:
                CalendarEvent.objects.bulk_create(rows, update_conflicts=True, unique_fields=["calendar", "provider_id"],
                                                  update_fields=_EVENT_FIELDS)
            if page.last:
                events = CalendarEvent.objects.filter(calendar=calendar)
                now = timezone.now()
                changes = {}
                if not page.incremental:
                    events.exclude(provider_id__in=seen).delete()
                    changes = {"events_window_start": window[0], "events_window_end": window[1]}
                Calendar.objects.filter(id=calendar.id).update(
                    last_sync_token=page.sync_token, event_count=events.count(), last_synced_at=now,
                    sync_error=False, updated_at=now, **changes)


def _with_full_resync(pull, *, sync_token: str, **kwargs):
    """Incremental from the cursor; when the provider says it expired (410), once more from scratch."""
    try:
        return pull(sync_token=sync_token, **kwargs)
    except SyncTokenExpired:
        if not sync_token:
            raise
        logger.info("sync token expired; full resync")
        return pull(sync_token="", **kwargs)


def _sync_calendars(*, access: OAuthAccess, identifier: UserIdentifier, session: ApiSession,
                    result: SyncResult) -> None:
    _with_full_resync(_pull_calendar_list, sync_token=access.calendars_sync_token, access=access,
                      identifier=identifier, session=session)
    calendars = list(Calendar.objects.filter(links__identifier=identifier, platform=access.platform).distinct())
    for calendar in calendars:
        try:
            _with_full_resync(_pull_events, sync_token=_event_cursor(calendar), calendar=calendar, session=session)
        except ProviderError as exc:
            Calendar.objects.filter(id=calendar.id).update(sync_error=True, updated_at=timezone.now())
            if isinstance(exc, (ReconsentRequired, ProviderUnavailable)):
                raise  # the whole grant is affected, not this calendar
            result.add_error(access.platform, "events", exc, calendar_id=calendar.id)
    result.calendars_synced += len(calendars)


# -- contacts ------------------------------------------------------------------------------------

def _contact_row(contact: RemoteContact) -> dict:
    row = {"email": contact.email, "name": contact.name, "phone": contact.phone, "company": contact.company,
           "title": contact.title, "emails": contact.emails}
    return {key: value for key, value in row.items() if value}


def _pull_contacts(*, access: OAuthAccess, identifier: UserIdentifier, session: ApiSession,
                   sync_token: str) -> int:
    """Provider contacts go through the directory's bulk import (upsert by email). Contacts deleted at
    the provider stay in the directory: the user may have annotated them."""
    synced = 0
    for page in providers.contact_pages(access.platform, session, sync_token=sync_token):
        rows = [_contact_row(contact) for contact in page.items if not contact.deleted and contact.email]
        for start in range(0, len(rows), MAX_IMPORT_CONTACTS):
            outcome = contacts_bulk_import(account=identifier.account, user=identifier.user,
                                           rows=rows[start:start + MAX_IMPORT_CONTACTS])
            synced += outcome.created + outcome.updated
        if page.last:
            OAuthAccess.objects.filter(id=access.id).update(contacts_sync_token=page.sync_token)
    return synced


# -- entry points -------------------------------------------------------------------------------------

def _sync_access(*, access: OAuthAccess, identifier: UserIdentifier, lock: Lock, result: SyncResult,
                 contacts: bool) -> None:
    if access.status == OAuthAccess.Status.NEEDS_RECONSENT:
        result.add_error(access.platform, "oauth", ReconsentRequired(
            f"{access.platform} access needs the user to consent again"))
        return
    session = _open_session(access, lock)
    resource = "calendars"
    try:
        _sync_calendars(access=access, identifier=identifier, session=session, result=result)
        if contacts and identifier.user_id and "contacts.read" in granted_access(identifier, access.platform):
            resource = "contacts"
            result.contacts_synced += _with_full_resync(_pull_contacts, sync_token=access.contacts_sync_token,
                                                        access=access, identifier=identifier, session=session)
        OAuthAccess.objects.filter(id=access.id).update(last_synced_at=timezone.now(), last_error="")
    except ReconsentRequired as exc:
        mark_reconsent(access, str(exc))
        result.add_error(access.platform, resource, exc)
    except ProviderError as exc:
        logger.warning("%s %s sync of %s failed: %s", access.platform, resource, identifier.id, exc)
        OAuthAccess.objects.filter(id=access.id).update(last_error=str(exc)[:500])
        result.add_error(access.platform, resource, exc)
    finally:
        session.close()


def _accesses(*, account: Account, identifier: UserIdentifier, platforms: list[str] | None) -> list[OAuthAccess]:
    accesses = OAuthAccess.objects.filter(account=account, identifier=identifier).order_by("platform")
    if platforms:
        accesses = accesses.filter(platform__in=platforms)
    found = list(accesses)
    if not found:
        raise BadRequest("No OAuth access found for this identifier"
                         + (f" on {', '.join(platforms)}" if platforms else ""), error_code="oauth_access_missing")
    return found


def identifier_sync_resources(*, account: Account, identifier: UserIdentifier, platforms: list[str] | None = None,
                              contacts: bool = True) -> SyncResult:
    """Sync every OAuth grant of the identifier (or those of `platforms`).

    Steps, per platform: 1. calendar list (Google incrementally with its sync token; Graph in full),
    upserting Calendar + UserCalendar and unlinking calendars gone at the provider; 2. each linked
    calendar's event occurrences in the window (series expanded; from the cursor, or a full round when
    the window has aged a day); 3. contacts into the user's directory when
    the identifier was granted `contacts.read`. A failing platform is reported in `errors`; the others go on.
    Raises 400 `oauth_access_missing` without grants, 409 `sync_in_progress` when a sync is running.
    """
    accesses = _accesses(account=account, identifier=identifier, platforms=platforms)
    result = SyncResult()
    with _sync_lock(identifier.id) as lock:
        for access in accesses:
            _sync_access(access=access, identifier=identifier, lock=lock, result=result, contacts=contacts)
    if identifier.user_id and result.calendars_synced:
        hooks.events_synced(account_id=account.id, user_id=identifier.user_id)
    event_emit(account_id=account.id, data={"identifierId": identifier.id, "userId": identifier.user_id,
                                            "platforms": [access.platform for access in accesses], **result.as_dict()},
               type=EventType.IDENTIFIER_SYNC_FAILED if result.errors else EventType.IDENTIFIER_SYNC_SUCCEEDED)
    return result


_CALENDAR_SYNC_FAILURES = {
    "oauth_reconsent_required": 409,
    "provider_unavailable": 503,
}


def identifier_sync_calendars(*, account: Account, identifier: UserIdentifier, platform: str) -> list[UserCalendar]:
    """Sync one platform's calendars (and their event counts) now; the identifier's links come back.

    A failure of the calendar list itself is an error response (409 re-consent, 503 provider down,
    502 otherwise); a single calendar's event failure only flags that calendar's `syncError`.
    """
    result = identifier_sync_resources(account=account, identifier=identifier, platforms=[platform], contacts=False)
    failure = next((error for error in result.errors if "calendarId" not in error), None)
    if failure is not None:
        status = _CALENDAR_SYNC_FAILURES.get(failure["errorCode"], 502)
        if status == 503:
            raise ServiceUnavailable(failure["error"], error_code=failure["errorCode"])
        raise ApplicationError(failure["error"], error_code=failure["errorCode"], status_code=status)
    return list(UserCalendar.objects.filter(identifier=identifier, calendar__platform=platform)
                .select_related("calendar").order_by("-is_primary", "calendar__name", "id"))


def identifier_sync_enqueue(*, account: Account, identifier: UserIdentifier) -> None:
    """Queue a sync on a Celery worker (after the surrounding transaction commits)."""
    from ..tasks import sync_identifier_resources

    _accesses(account=account, identifier=identifier, platforms=None)
    transaction.on_commit(lambda: sync_identifier_resources.delay(identifier.id, account.id))


def identifier_sync_requested(*, account: Account, identifier: UserIdentifier) -> dict:
    """`POST /identifiers/:id/sync-resources`: run now (TSKR_SYNC_MODE=inline) or queue it (`queue`).

    Returns the contract's body for either mode.
    """
    body = {"identifierId": identifier.id, "userId": identifier.user_id}
    if settings.TSKR_SYNC_MODE == "queue":
        identifier_sync_enqueue(account=account, identifier=identifier)
        return {"message": "Resource sync triggered successfully", **body, "status": "queued"}
    result = identifier_sync_resources(account=account, identifier=identifier)
    return {"message": "Resource sync completed", **body, "status": "completed", "result": result.as_dict()}


def identifier_sync_run(*, identifier_id: str, account_id: str) -> dict:
    """The queued sync (task body): re-scoped lookup, then a sync; a transient provider failure raises
    `ProviderUnavailable` so the task retries it (safe: the sync is idempotent)."""
    identifier = UserIdentifier.objects.select_related("account").filter(id=identifier_id,
                                                                          account_id=account_id).first()
    if identifier is None or not OAuthAccess.objects.filter(identifier_id=identifier_id).exists():
        return {"status": "skipped", "reason": "no identifier or no OAuth access"}
    result = identifier_sync_resources(account=identifier.account, identifier=identifier)
    if result.transient:
        raise ProviderUnavailable("; ".join(error["error"] for error in result.errors))
    return {"status": "completed", **result.as_dict()}


def calendar_orphans_delete(*, account_id: str | None = None) -> int:
    """Delete calendars no identifier links any more, with their events: deleting an identifier (or its
    user) cascades to its links, but not to the Calendar rows the account's identifiers share.

    The services that delete identifiers and users call it for their account, in their transaction, so
    a removed identifier's calendars are gone with it; the periodic task calls it for every account, a
    safety net for deletes made elsewhere (Django admin). Returns how many rows were deleted.
    """
    calendars = Calendar.objects.filter(links__isnull=True)
    if account_id is not None:
        calendars = calendars.filter(account_id=account_id)
    deleted, _ = calendars.delete()
    return deleted


def identifiers_sync_enqueue_all() -> int:
    """Queue a sync of every identifier holding an active grant (the periodic beat task)."""
    from ..tasks import sync_identifier_resources

    pairs = (OAuthAccess.objects.filter(status=OAuthAccess.Status.ACTIVE)
             .values_list("identifier_id", "account_id").distinct().order_by("identifier_id"))
    count = 0
    for identifier_id, account_id in pairs:
        sync_identifier_resources.delay(identifier_id, account_id)
        count += 1
    return count
