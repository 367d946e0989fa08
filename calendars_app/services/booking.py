"""Provider writes for booking: which calendar a user's meeting goes to, and the event insert, patch and
cancel on Google Calendar or Outlook as that user, with provider failures turned into our errors.

The meeting itself (rows, conflicts, statuses) belongs to `tasks_app.services`; this module only knows
calendars, grants and events.
"""
from dataclasses import dataclass
from functools import partial


from accounts.models import Account, User
from tskr.exceptions import ApplicationError, Conflict, NotFound

from .. import providers
from ..models import Calendar, OAuthAccess, UserCalendar
from ..providers.base import (
    ApiSession, NotWritable, ProviderError, ProviderUnavailable, ReconsentRequired, provider_config, shared_client,
)
from ..providers.records import EventWrite, WrittenEvent
from .oauth import granted_access
from .sync import mark_reconsent, tokens_refreshed

WRITABLE_ROLES = (UserCalendar.Role.OWNER, UserCalendar.Role.WRITER)


class CalendarNotWritable(Conflict):
    error_code = "calendar_not_writable"
    default_message = "TSKR may not write to this calendar (read-only, or the grant lacks calendars.write)"


class ReauthorizationRequired(Conflict):
    error_code = "oauth_reauthorization_required"
    default_message = "The calendar's OAuth grant was revoked or expired; the user must consent again"


class CalendarProviderError(ApplicationError):
    """The provider failed (5xx, timeout, unreachable, an unexpected refusal). `transient`: the write may
    still happen on a retry (the meeting stays pending for the sweep)."""

    status_code = 502
    error_code = "calendar_provider_error"
    default_message = "The calendar provider failed; the meeting will be written by a retry"

    def __init__(self, message: str | None = None, *, transient: bool = True, **kwargs):
        super().__init__(message, **kwargs)
        self.transient = transient


@dataclass(frozen=True)
class WriteTarget:
    """A calendar and the grant TSKR writes to it with."""

    calendar: Calendar
    access: OAuthAccess


def _target(link: UserCalendar) -> tuple[WriteTarget | None, ApplicationError | None]:
    """The grant to write through this link, or why there is none."""
    access = OAuthAccess.objects.filter(identifier_id=link.identifier_id, platform=link.calendar.platform).first()
    if access is None or "calendars.write" not in granted_access(link.identifier, link.calendar.platform):
        return None, CalendarNotWritable("The grant of this calendar lacks calendars.write")
    if link.role not in WRITABLE_ROLES:
        return None, CalendarNotWritable("This calendar is read-only for its user")
    if access.status != OAuthAccess.Status.ACTIVE:
        return None, ReauthorizationRequired()
    return WriteTarget(calendar=link.calendar, access=access), None


def write_target_get(*, account: Account, user: User, calendar_id: str | None,
                     preferred_reference_ids: list[str]) -> WriteTarget | None:
    """Where `user`'s meeting is written.

    An explicit `calendar_id` must be one of the user's calendars (404 `calendar_not_found`) that TSKR
    can write (409 `calendar_not_writable` / `oauth_reauthorization_required`): never a silent local
    booking. Without one: the first writable of the preferred calendars (`calendars.write`), else the
    user's primary writable calendar, else any writable one, else None (booked in TSKR only).
    """
    links = list(UserCalendar.objects.filter(account=account, user=user)
                 .select_related("calendar", "identifier").order_by("-is_primary", "calendar__name", "id"))
    if calendar_id is not None:
        link = next((link for link in links if link.calendar_id == calendar_id), None)
        if link is None:
            raise NotFound("Calendar not found", error_code="calendar_not_found")
        target, problem = _target(link)
        if problem is not None:
            raise problem
        return target
    preferred = [link for reference in preferred_reference_ids for link in links
                 if link.calendar.reference_id == reference]
    for link in preferred + links:
        target, _ = _target(link)
        if target is not None:
            return target
    return None


def _session(access: OAuthAccess) -> ApiSession:
    return ApiSession(provider_config(access.platform), access_token=access.access_token,
                      refresh_token=access.refresh_token, expires_at=access.expires_at,
                      on_refresh=partial(tokens_refreshed, access_id=access.id), client=shared_client())


def _call(target: WriteTarget, operation, **kwargs):
    """Run one provider write and map its failures: invalid_grant -> 409 `oauth_reauthorization_required`
    (and the grant marked as needing re-consent, as the sync does); a 403 -> 409 `calendar_not_writable`;
    5xx, timeouts and the network -> 502 `calendar_provider_error` (transient); any other refusal -> 502
    (not transient: repeating it will not help)."""
    session = _session(target.access)
    try:
        return operation(target.calendar.platform, session, reference_id=target.calendar.reference_id, **kwargs)
    except ReconsentRequired as exc:
        mark_reconsent(target.access, str(exc))
        raise ReauthorizationRequired() from None
    except NotWritable:
        raise CalendarNotWritable("The provider refused to write to this calendar") from None
    except ProviderUnavailable as exc:
        raise CalendarProviderError(f"The calendar provider failed: {exc}") from None
    except ProviderError as exc:
        raise CalendarProviderError(f"The calendar provider refused the write: {exc}", transient=False) from None
    finally:
        session.close()


def calendar_event_insert(*, target: WriteTarget, event: EventWrite) -> WrittenEvent:
    return _call(target, providers.event_insert, event=event)


def calendar_event_patch(*, target: WriteTarget, provider_event_id: str, event: EventWrite) -> WrittenEvent:
    return _call(target, providers.event_patch, provider_event_id=provider_event_id, event=event)


def calendar_event_cancel(*, target: WriteTarget, provider_event_id: str, send_updates: bool) -> None:
    _call(target, providers.event_cancel, provider_event_id=provider_event_id, send_updates=send_updates)


def write_target_for_calendar(*, calendar: Calendar, user: User) -> WriteTarget:
    """The grant to write an already booked meeting's calendar again (reschedule, cancel, the sweep)."""
    link = (UserCalendar.objects.filter(calendar=calendar, user=user).select_related("calendar", "identifier")
            .order_by("-is_primary", "id").first())
    if link is None:
        raise CalendarNotWritable("The meeting's calendar is no longer linked to its owner")
    target, problem = _target(link)
    if problem is not None:
        raise problem
    return target
