"""A loopback HTTP server speaking the documented shapes of Google's and Microsoft's APIs, for the
production client code to call over real HTTP.

Layout (each is the corresponding setting's value, see `settings_values()`):
  /google/token, /google/revoke                 OAuth 2.0 token and revocation endpoints (form posts)
  /google/calendar/v3/users/me/calendarList     pages (pageToken) and sync tokens (syncToken, 410 when expired)
  /google/calendar/v3/calendars/{id}/events     same mechanism; deletions come back as status "cancelled";
                                                singleEvents=true expands series (instance ids
                                                `<series>_<UTC start>`, exceptions applied) and a full
                                                list keeps what overlaps timeMin/timeMax (refused with a
                                                syncToken, as Google does)
  /google/people/v1/people/me/connections       same; an expired token answers 400 EXPIRED_SYNC_TOKEN
  /google/calendar/v3/calendars/{id}/events     POST inserts (client-chosen id: 409 when taken; conferenceData
                                                createRequest -> a Meet link); /events/{eventId} GET, PATCH,
                                                DELETE; a reader's calendar answers 403
  /microsoft/token                              rotates the refresh token on every use (the old one dies)
  /microsoft/graph/v1.0/me/calendars            pages through @odata.nextLink ($skip)
  /microsoft/graph/v1.0/me/calendars/{id}/calendarView/delta, /me/contacts/delta
                                                @odata.nextLink ($skiptoken) then @odata.deltaLink ($deltatoken);
                                                the calendar view expands series into occurrences and
                                                keeps those overlapping startDateTime/endDateTime
  /microsoft/graph/v1.0/me/calendars/{id}/events POST creates (a repeated transactionId returns the first
                                                event; isOnlineMeeting -> a Teams joinUrl); 403 unless canEdit
  /microsoft/graph/v1.0/me/events/{id}          PATCH, DELETE; /cancel (POST) removes it from the organizer's calendar

Every store keeps a version per item; a sync token is the version it was issued at, so an incremental
request returns exactly the items changed since (deletions included). Faults (status codes with
headers), expired cursors, revoked tokens and a pause on a given request are scriptable.
"""
import base64
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

CLIENT_IDS = {"google": ("google-client-id", "google-client-secret"),
              "microsoft": ("microsoft-client-id", "microsoft-client-secret")}


@dataclass
class Fault:
    path_contains: str
    status: int
    headers: dict
    body: dict
    times: int


@dataclass
class Pause:
    path_contains: str
    remaining: int = 1  # pause on the n-th matching request
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FakeProviders:
    def __init__(self, page_size: int = 2):
        self.page_size = page_size
        self.version = 0
        self.min_valid_version = 0  # sync tokens issued before this answer 410 / EXPIRED_SYNC_TOKEN
        self.stores: dict[str, dict[str, dict]] = {}
        self.access_tokens: dict[str, str] = {}  # token -> platform
        self.refresh_tokens: dict[str, str] = {}
        self.codes: dict[str, str] = {}
        self.code_emails: dict[str, str] = {}
        self.revoked: list[str] = []
        self.token_lifetime = 3600
        self.requests: list[dict] = []
        self.faults: list[Fault] = []
        self.pause: Pause | None = None
        self.evil_link = ""  # when set, the next Graph delta page's nextLink points here
        self._counter = 0
        self._lock = threading.RLock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET", b"")

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                fake._handle(self, "POST", self.rfile.read(length))

            def do_PATCH(self):
                length = int(self.headers.get("content-length") or 0)
                fake._handle(self, "PATCH", self.rfile.read(length))

            def do_DELETE(self):
                fake._handle(self, "DELETE", b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle and configuration ------------------------------------------------------------
    def start(self) -> "FakeProviders":
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.pause:
            self.pause.release.set()
        self.server.shutdown()
        self.server.server_close()

    def settings_values(self) -> dict:
        return {
            "GOOGLE_OAUTH_CLIENT_ID": CLIENT_IDS["google"][0], "GOOGLE_OAUTH_CLIENT_SECRET": CLIENT_IDS["google"][1],
            "GOOGLE_OAUTH_AUTHORIZE_URL": f"{self.url}/google/auth",
            "GOOGLE_OAUTH_TOKEN_URL": f"{self.url}/google/token", "GOOGLE_OAUTH_REVOKE_URL": f"{self.url}/google/revoke",
            "GOOGLE_CALENDAR_API_URL": f"{self.url}/google/calendar/v3",
            "GOOGLE_PEOPLE_API_URL": f"{self.url}/google/people/v1",
            "MICROSOFT_OAUTH_CLIENT_ID": CLIENT_IDS["microsoft"][0],
            "MICROSOFT_OAUTH_CLIENT_SECRET": CLIENT_IDS["microsoft"][1],
            "MICROSOFT_OAUTH_AUTHORIZE_URL": f"{self.url}/microsoft/auth",
            "MICROSOFT_OAUTH_TOKEN_URL": f"{self.url}/microsoft/token",
            "MICROSOFT_GRAPH_API_URL": f"{self.url}/microsoft/graph/v1.0",
        }

    # -- scripting ------------------------------------------------------------------------------
    def _next(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    def issue_tokens(self, platform: str) -> tuple[str, str]:
        """(access token, refresh token) as if the user had consented; platform is google or microsoft."""
        with self._lock:
            access, refresh = self._next(f"{platform}-at"), self._next(f"{platform}-rt")
            self.access_tokens[access] = platform
            self.refresh_tokens[refresh] = platform
            return access, refresh

    def issue_code(self, platform: str, *, email: str) -> str:
        """A code as the provider issues after `email`'s account consented."""
        with self._lock:
            code = self._next(f"{platform}-code")
            self.codes[code] = platform
            self.code_emails[code] = email
            return code

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers 401 (the client must refresh)."""
        with self._lock:
            self.access_tokens.clear()

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token now answers invalid_grant (the user revoked the app)."""
        with self._lock:
            self.refresh_tokens.clear()

    def expire_sync_tokens(self) -> None:
        with self._lock:
            self.min_valid_version = self.version + 1

    def fail(self, path_contains: str, status: int, *, times: int = 1, headers: dict | None = None,
             body: dict | None = None) -> None:
        self.faults.append(Fault(path_contains, status, headers or {}, body or {"error": {"code": status}}, times))

    def pause_on(self, path_contains: str, *, nth: int = 1) -> Pause:
        """Hold the n-th request whose path contains `path_contains` until `release` is set."""
        self.pause = Pause(path_contains, nth)
        return self.pause

    def count(self, path_contains: str = "", method: str = "GET") -> int:
        return sum(1 for r in self.requests if path_contains in r["path"] and r["method"] == method)

    def _put(self, store: str, key: str, data: dict | None) -> None:
        with self._lock:
            self.version += 1
            entry = self.stores.setdefault(store, {}).get(key)
            if data is None:
                if entry:
                    entry.update(deleted=True, version=self.version)
                return
            self.stores[store][key] = {"data": data, "version": self.version, "deleted": False}

    # Google data
    def google_calendar(self, calendar_id: str, summary: str, *, access_role: str = "owner", primary: bool = False,
                        time_zone: str = "America/New_York", color: str = "#9E69AF") -> None:
        data = {"kind": "calendar#calendarListEntry", "id": calendar_id, "summary": summary, "timeZone": time_zone,
                "backgroundColor": color, "accessRole": access_role,
                "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}
        if primary:
            data["primary"] = True
        self._put("google:calendars", calendar_id, data)

    def google_delete_calendar(self, calendar_id: str) -> None:
        self._put("google:calendars", calendar_id, None)

    def google_event(self, calendar_id: str, event_id: str, start: str, end: str, *, transparency: str = "",
                     status: str = "confirmed", summary: str = "Meeting", response: str = "",
                     meet: bool = False) -> None:
        """A single event; `start`/`end` as YYYY-MM-DD make it all-day; `response` adds the user as an
        attendee (`self`) who answered so; `meet` gives it a Google Meet link."""
        when = (lambda value: {"date": value}) if len(start) == 10 else (lambda value: {"dateTime": value})
        data = {"kind": "calendar#event", "id": event_id, "status": status, "summary": summary,
                "start": when(start), "end": when(end)}
        if transparency:
            data["transparency"] = transparency
        if response:
            data["attendees"] = [{"email": "organizer@partner.test", "organizer": True, "responseStatus": "accepted"},
                                 {"email": "me@acme.test", "self": True, "responseStatus": response}]
        if meet:
            data["hangoutLink"] = "https://meet.google.com/abc-defg-hij"
        self._put(f"google:events:{calendar_id}", event_id, data)

    def google_series(self, calendar_id: str, series_id: str, start: str, end: str, *, time_zone: str,
                      count: int, frequency: str = "WEEKLY", summary: str = "Weekly") -> None:
        """A recurring event: wall-clock `start`/`end` (no offset) in `time_zone`, RRULE FREQ/COUNT."""
        self._put(f"google:events:{calendar_id}", series_id, {
            "kind": "calendar#event", "id": series_id, "status": "confirmed", "summary": summary,
            "start": {"dateTime": start, "timeZone": time_zone}, "end": {"dateTime": end, "timeZone": time_zone},
            "recurrence": [f"RRULE:FREQ={frequency};COUNT={count}"]})

    def google_instance_change(self, calendar_id: str, series_id: str, original_start_utc: str, *,
                               start: str = "", end: str = "", cancelled: bool = False) -> None:
        """An exception of one instance (named by its original UTC start, YYYYMMDDTHHMMSSZ): moved to
        `start`/`end` (RFC 3339), or cancelled."""
        change = {"cancelled": cancelled, "start": start, "end": end}
        self._put(f"google:exceptions:{calendar_id}:{series_id}", original_start_utc, change)

    def google_delete_event(self, calendar_id: str, event_id: str) -> None:
        self._put(f"google:events:{calendar_id}", event_id, None)

    def google_person(self, resource: str, name: str, email: str, *, company: str = "", title: str = "") -> None:
        data = {"resourceName": resource, "etag": "e", "names": [{"displayName": name}],
                "emailAddresses": [{"value": email}]}
        if company:
            data["organizations"] = [{"name": company, "title": title}]
        self._put("google:people", resource, data)

    # Microsoft data
    def graph_calendar(self, calendar_id: str, name: str, *, can_edit: bool = True, default: bool = False,
                       owner: str = "", color: str = "#E0F0FF") -> None:
        self._put("microsoft:calendars", calendar_id, {
            "id": calendar_id, "name": name, "hexColor": color, "canEdit": can_edit, "isDefaultCalendar": default,
            "owner": {"name": owner, "address": owner}, "allowedOnlineMeetingProviders": ["teamsForBusiness"]})

    def graph_delete_calendar(self, calendar_id: str) -> None:
        self._put("microsoft:calendars", calendar_id, None)

    def graph_event(self, calendar_id: str, event_id: str, start: str, end: str, *, show_as: str = "busy",
                    subject: str = "Meeting", response: str = "organizer", cancelled: bool = False,
                    all_day: bool = False, online: bool = False) -> None:
        """Times are UTC wall clocks (the client asks for UTC); all-day ones run midnight to midnight."""
        self._put(f"microsoft:events:{calendar_id}", event_id, {
            "id": event_id, "type": "singleInstance", "subject": subject, "showAs": show_as,
            "isCancelled": cancelled, "isAllDay": all_day, "isOnlineMeeting": online,
            "responseStatus": {"response": response, "time": "0001-01-01T00:00:00Z"},
            "start": {"dateTime": f"{start}.0000000", "timeZone": "UTC"},
            "end": {"dateTime": f"{end}.0000000", "timeZone": "UTC"}})

    def graph_series(self, calendar_id: str, series_id: str, start: str, end: str, *, time_zone: str, count: int,
                     subject: str = "Weekly", show_as: str = "busy") -> None:
        """A series master: wall-clock `start`/`end` in `time_zone`, weekly, `count` occurrences."""
        self._put(f"microsoft:events:{calendar_id}", series_id, {
            "id": series_id, "type": "seriesMaster", "subject": subject, "showAs": show_as, "isCancelled": False,
            "isAllDay": False, "isOnlineMeeting": True, "responseStatus": {"response": "organizer"},
            "start": {"dateTime": start, "timeZone": time_zone}, "end": {"dateTime": end, "timeZone": time_zone},
            "recurrence": {"pattern": {"type": "weekly", "interval": 1},
                           "range": {"type": "numbered", "numberOfOccurrences": count}}})

    def graph_delete_event(self, calendar_id: str, event_id: str) -> None:
        self._put(f"microsoft:events:{calendar_id}", event_id, None)

    def graph_contact(self, contact_id: str, name: str, email: str, *, company: str = "") -> None:
        self._put("microsoft:contacts", contact_id, {
            "id": contact_id, "displayName": name, "emailAddresses": [{"name": name, "address": email}],
            "companyName": company, "businessPhones": [], "mobilePhone": None, "jobTitle": None})

    # -- serving --------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        parts = urlsplit(handler.path)
        path = unquote(parts.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        is_json = "json" in handler.headers.get("Content-Type", "")
        form = {key: values[-1] for key, values in parse_qs(body.decode()).items()} if body and not is_json else {}
        payload = json.loads(body) if body and is_json else {}
        with self._lock:
            self.requests.append({"method": method, "path": path, "query": query, "form": form, "json": payload,
                                  "authorization": handler.headers.get("Authorization", ""),
                                  "prefer": handler.headers.get("Prefer", "")})
            pause = None
            if self.pause and self.pause.path_contains in path:
                self.pause.remaining -= 1
                pause = self.pause if self.pause.remaining == 0 else None
            fault = next((f for f in self.faults if f.path_contains in path and f.times > 0), None)
            if fault:
                fault.times -= 1
        if pause:
            self.pause = None
            pause.reached.set()
            pause.release.wait(timeout=120)
        if fault:
            return self._send(handler, fault.status, fault.body, fault.headers)
        try:
            status, payload = self._route(method, path, query, form or payload,
                                          handler.headers.get("Authorization", ""))
        except KeyError:
            status, payload = 404, {"error": {"code": 404, "message": "Not Found"}}
        self._send(handler, status, payload)

    @staticmethod
    def _send(handler, status: int, payload: dict, headers: dict | None = None) -> None:
        data = b"" if status in (202, 204) else json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=UTF-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, method: str, path: str, query: dict, form: dict, authorization: str) -> tuple[int, dict]:
        platform = path.split("/")[1]
        if method == "POST" and path == f"/{platform}/token":
            return self._token(platform, form)
        if method == "POST" and path == "/google/revoke":
            self.revoked.append(form.get("token", ""))
            with self._lock:
                self.refresh_tokens.pop(form.get("token", ""), None)
            return 200, {}
        token = authorization.removeprefix("Bearer ")
        if self.access_tokens.get(token) != platform:
            if platform == "google":
                return 401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                       "status": "UNAUTHENTICATED"}}
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}}
        if path == "/google/calendar/v3/users/me/calendarList":
            return self._google_list("google:calendars", query, "calendar#calendarList", "items",
                                     lambda key: {"id": key, "deleted": True})
        if path.startswith("/google/calendar/v3/calendars/") and (method != "GET" or "/events/" in path):
            return self._google_write(method, path, query, form)
        if path.startswith("/microsoft/graph/v1.0/me/") and method != "GET":
            return self._graph_write(method, path, form)
        if path.startswith("/google/calendar/v3/calendars/") and path.endswith("/events"):
            calendar_id = path[len("/google/calendar/v3/calendars/"):-len("/events")]
            if query.get("syncToken") and ({"timeMin", "timeMax"} & set(query)):
                return 400, {"error": {"code": 400, "message": "Sync token cannot be used with timeMin/timeMax",
                                       "errors": [{"reason": "invalid"}]}}
            store = f"google:events:{calendar_id}"
            if query.get("singleEvents") == "true":
                store = self._expand_google(calendar_id, query.get("timeMin"), query.get("timeMax"))
            return self._google_list(store, query, "calendar#events", "items",
                                     lambda key: {"id": key, "status": "cancelled"})
        if path == "/google/people/v1/people/me/connections":
            return self._google_list("google:people", query, None, "connections",
                                     lambda key: {"resourceName": key, "metadata": {"deleted": True}}, people=True)
        graph = "/microsoft/graph/v1.0"
        if path == f"{graph}/me/calendars":
            return self._graph_calendars(query)
        if path.startswith(f"{graph}/me/calendars/") and path.endswith("/calendarView/delta"):
            calendar_id = path[len(f"{graph}/me/calendars/"):-len("/calendarView/delta")]
            if calendar_id not in self.stores.get("microsoft:calendars", {}):
                return 404, {"error": {"code": "ErrorItemNotFound", "message": "not found"}}
            return self._graph_delta(self._expand_graph(calendar_id, query), path, query)
        if path == f"{graph}/me/contacts/delta":
            return self._graph_delta("microsoft:contacts", path, query)
        raise KeyError(path)

    # -- booking writes ------------------------------------------------------------------------------
    def events_of(self, store: str) -> dict[str, dict]:
        """The live events of a store (`google:events:<calendar>` or `microsoft:events:<calendar>`)."""
        return {key: entry["data"] for key, entry in self.stores.get(store, {}).items() if not entry["deleted"]}

    def _google_write(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        rest = path[len("/google/calendar/v3/calendars/"):]
        calendar_id, _, event_id = rest.partition("/events")
        event_id = event_id.lstrip("/")
        calendar = self.stores.get("google:calendars", {}).get(calendar_id)
        if calendar is None:
            return 404, {"error": {"code": 404, "message": "Not Found"}}
        store = f"google:events:{calendar_id}"
        if method != "GET" and calendar["data"]["accessRole"] not in ("owner", "writer"):
            return 403, {"error": {"code": 403, "message": "You need to have writer access to this calendar.",
                                   "errors": [{"domain": "calendar", "reason": "requiredAccessLevel"}]}}
        with self._lock:
            existing = self.stores.get(store, {}).get(event_id) if event_id else None
            if method == "POST":
                event_id = body.get("id") or self._next("gevt")
                if event_id in self.stores.get(store, {}):  # Google keeps deleted ids taken as well
                    return 409, {"error": {"code": 409, "message": "The requested identifier already exists.",
                                           "errors": [{"domain": "global", "reason": "duplicate"}]}}
                data = {"kind": "calendar#event", "id": event_id, "status": "confirmed",
                        "htmlLink": f"https://calendar.google.com/event?eid={event_id}",
                        "sequence": 0, **self._google_times({k: v for k, v in body.items()
                                                             if k not in ("id", "conferenceData")})}
                request = (body.get("conferenceData") or {}).get("createRequest")
                if request and query.get("conferenceDataVersion") == "1":
                    link = f"https://meet.google.com/{event_id[:3]}-{event_id[3:7]}-{event_id[7:10]}"
                    data["hangoutLink"] = link
                    data["conferenceData"] = {"conferenceId": event_id[:10], "entryPoints": [
                        {"entryPointType": "video", "uri": link}],
                        "conferenceSolution": {"key": {"type": "hangoutsMeet"}}}
                self._put(store, event_id, data)
                return 200, data
            if existing is None or existing["deleted"]:
                return (410 if existing else 404), {"error": {"code": 404, "message": "Not Found"}}
            if method == "GET":
                return 200, existing["data"]
            if method == "PATCH":
                data = {**existing["data"], **self._google_times(body),
                        "sequence": existing["data"].get("sequence", 0) + 1}
                self._put(store, event_id, data)
                return 200, data
            self._put(store, event_id, None)  # DELETE
            return 204, {}

    @staticmethod
    def _google_times(body: dict) -> dict:
        """Google answers wall time + timeZone with the offset filled in."""
        for side in ("start", "end"):
            value = body.get(side)
            if value and value.get("timeZone") and len(value.get("dateTime", "")) == 19:
                moment = datetime.fromisoformat(value["dateTime"]).replace(tzinfo=ZoneInfo(value["timeZone"]))
                body = {**body, side: {"dateTime": moment.isoformat(), "timeZone": value["timeZone"]}}
        return body

    def _graph_write(self, method: str, path: str, body: dict) -> tuple[int, dict]:
        rest = path[len("/microsoft/graph/v1.0/me/"):]
        with self._lock:
            if method == "POST" and rest.startswith("calendars/") and rest.endswith("/events"):
                calendar_id = rest[len("calendars/"):-len("/events")]
                calendar = self.stores.get("microsoft:calendars", {}).get(calendar_id)
                if calendar is None:
                    return 404, {"error": {"code": "ErrorItemNotFound", "message": "not found"}}
                if not calendar["data"]["canEdit"] and not calendar["data"]["isDefaultCalendar"]:
                    return 403, {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
                store = f"microsoft:events:{calendar_id}"
                for entry in self.stores.get(store, {}).values():
                    if body.get("transactionId") and entry["data"].get("transactionId") == body["transactionId"]:
                        return 201, entry["data"]  # Graph: the same transactionId is the same event
                event_id = self._next("AAMkEvt")
                data = self._graph_event_data(event_id, body)
                self._put(store, event_id, data)
                return 201, data
            event_id, _, verb = rest[len("events/"):].partition("/")
            store = next((name for name, items in self.stores.items() if name.startswith("microsoft:events:")
                          and event_id in items and not items[event_id]["deleted"]), None)
            if store is None:
                return 404, {"error": {"code": "ErrorItemNotFound", "message": "not found"}}
            if (method, verb) in (("POST", "cancel"), ("DELETE", "")):
                self._put(store, event_id, None)  # gone from the organizer's calendar
                return (202 if verb else 204), {}
            if method == "PATCH":
                merged = {**self.stores[store][event_id]["data"].get("_request", {}), **body}
                data = self._graph_event_data(event_id, merged)
                self._put(store, event_id, data)
                return 200, data
        raise KeyError(path)

    def _graph_event_data(self, event_id: str, body: dict) -> dict:
        """Stored as the calendar view shows it (UTC wall times), keeping the request for later patches."""
        def utc(value: dict) -> dict:
            moment = datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=ZoneInfo(value["timeZone"]))
            return {"dateTime": moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                    "timeZone": "UTC"}
        data = {"id": event_id, "type": "singleInstance", "subject": body.get("subject", ""), "showAs": "busy",
                "isCancelled": False, "isAllDay": False, "isOnlineMeeting": bool(body.get("isOnlineMeeting")),
                "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
                "start": utc(body["start"]), "end": utc(body["end"]), "attendees": body.get("attendees", []),
                "transactionId": body.get("transactionId"), "webLink": f"https://outlook.office.com/owa/?itemid={event_id}",
                "_request": body}
        if body.get("isOnlineMeeting"):
            data["onlineMeetingProvider"] = body.get("onlineMeetingProvider")
            data["onlineMeeting"] = {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/{event_id}"}
        return data

    # -- recurring series ---------------------------------------------------------------------------
    @staticmethod
    def _instants(start: dict, end: dict, count: int, days: int) -> list[tuple[datetime, datetime]]:
        """Each occurrence at the same wall-clock time in the series' zone (so across DST the UTC time moves)."""
        zone = ZoneInfo(start.get("timeZone") or "UTC")
        first = datetime.fromisoformat(start["dateTime"][:19])
        length = datetime.fromisoformat(end["dateTime"][:19]) - first
        return [((first + timedelta(days=days * n)).replace(tzinfo=zone).astimezone(dt_timezone.utc),
                 (first + timedelta(days=days * n) + length).replace(tzinfo=zone).astimezone(dt_timezone.utc))
                for n in range(count)]

    @staticmethod
    def _overlaps(start: datetime, end: datetime, low: str | None, high: str | None) -> bool:
        """Google's and Graph's window test: ends after the lower bound, starts before the upper one."""
        parse = lambda value: datetime.fromisoformat(value.replace("Z", "+00:00"))  # noqa: E731
        return (not low or end > parse(low)) and (not high or start < parse(high))

    def _expand_google(self, calendar_id: str, time_min: str | None, time_max: str | None) -> str:
        """The calendar's events with series replaced by their instances, in a derived store whose
        versions are those of the series or of the exception (so sync tokens keep working)."""
        with self._lock:
            expanded: dict[str, dict] = {}
            for key, entry in self.stores.get(f"google:events:{calendar_id}", {}).items():
                data = entry["data"]
                rule = next((line for line in data.get("recurrence") or []), "")
                if not rule:
                    start, end = (self._google_instant(data[side]) for side in ("start", "end"))
                    if entry["deleted"] or self._overlaps(start, end, time_min, time_max):
                        expanded[key] = entry
                    continue
                count = int(re.search(r"COUNT=(\d+)", rule).group(1))
                days = 7 if "FREQ=WEEKLY" in rule else 1
                changes = self.stores.get(f"google:exceptions:{calendar_id}:{key}", {})
                for start, end in self._instants(data["start"], data["end"], count, days):
                    original = start.strftime("%Y%m%dT%H%M%SZ")
                    change = changes.get(original)
                    version = max(entry["version"], change["version"] if change else 0)
                    instance = {key: value for key, value in data.items() if key != "recurrence"}
                    instance.update(id=f"{key}_{original}", recurringEventId=key,
                                    originalStartTime={"dateTime": start.isoformat()},
                                    start={"dateTime": start.isoformat()}, end={"dateTime": end.isoformat()})
                    deleted = entry["deleted"] or bool(change and change["data"]["cancelled"])
                    if change and not deleted and change["data"]["start"]:
                        instance.update(start={"dateTime": change["data"]["start"]},
                                        end={"dateTime": change["data"]["end"]})
                        start, end = (self._google_instant(instance[side]) for side in ("start", "end"))
                    if deleted or self._overlaps(start, end, time_min, time_max):
                        expanded[instance["id"]] = {"data": instance, "version": version, "deleted": deleted}
            self.stores[f"google:single:{calendar_id}"] = expanded
        return f"google:single:{calendar_id}"

    @staticmethod
    def _google_instant(value: dict) -> datetime:
        if "date" in value:
            return datetime.fromisoformat(value["date"]).replace(tzinfo=dt_timezone.utc)
        return datetime.fromisoformat(value["dateTime"])

    def _expand_graph(self, calendar_id: str, query: dict) -> str:
        """The calendar view: series masters replaced by their occurrences (UTC, as the client prefers)."""
        low, high = query.get("startDateTime"), query.get("endDateTime")
        with self._lock:
            view: dict[str, dict] = {}
            for key, entry in self.stores.get(f"microsoft:events:{calendar_id}", {}).items():
                data = entry["data"]
                if data.get("type") != "seriesMaster":
                    start, end = (datetime.fromisoformat(data[side]["dateTime"][:19]).replace(tzinfo=dt_timezone.utc)
                                  for side in ("start", "end"))
                    if entry["deleted"] or self._overlaps(start, end, low, high):
                        view[key] = entry
                    continue
                count = data["recurrence"]["range"]["numberOfOccurrences"]
                for n, (start, end) in enumerate(self._instants(data["start"], data["end"], count, 7)):
                    occurrence = {key_: value for key_, value in data.items() if key_ != "recurrence"}
                    occurrence.update(id=f"{key}-occ{n}", type="occurrence", seriesMasterId=key,
                                      start={"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
                                      end={"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"})
                    if entry["deleted"] or self._overlaps(start, end, low, high):
                        view[occurrence["id"]] = {"data": occurrence, "version": entry["version"],
                                                  "deleted": entry["deleted"]}
            self.stores[f"microsoft:view:{calendar_id}"] = view
        return f"microsoft:view:{calendar_id}"

    def _token(self, platform: str, form: dict) -> tuple[int, dict]:
        client_id, client_secret = CLIENT_IDS[platform]
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        with self._lock:
            grant = form.get("grant_type")
            if grant == "authorization_code":
                if self.codes.pop(form.get("code", ""), None) != platform or not form.get("redirect_uri"):
                    return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
                id_token = _unsigned_id_token(platform, self.code_emails.pop(form["code"]))
                access, refresh = self._next(f"{platform}-at"), self._next(f"{platform}-rt")
                self.refresh_tokens[refresh] = platform
            elif grant == "refresh_token":
                old = form.get("refresh_token", "")
                if self.refresh_tokens.get(old) != platform:
                    return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                access, refresh = self._next(f"{platform}-at"), ""
                if platform == "microsoft":  # Microsoft rotates: the old refresh token is spent
                    del self.refresh_tokens[old]
                    refresh = self._next(f"{platform}-rt")
                    self.refresh_tokens[refresh] = platform
            else:
                return 400, {"error": "unsupported_grant_type"}
            self.access_tokens[access] = platform
        body = {"access_token": access, "expires_in": self.token_lifetime, "token_type": "Bearer",
                "scope": "https://www.googleapis.com/auth/calendar.readonly" if platform == "google"
                else "Calendars.Read Contacts.Read"}
        if refresh:
            body["refresh_token"] = refresh
        if grant == "authorization_code":
            body["id_token"] = id_token
        return 200, body

    def _changes(self, store: str, since: int | None) -> list[tuple[str, dict]]:
        items = sorted(self.stores.get(store, {}).items())
        if since is None:
            return [(key, entry) for key, entry in items if not entry["deleted"]]
        return [(key, entry) for key, entry in items if entry["version"] > since]

    def _google_list(self, store, query, kind, items_key, tombstone, people: bool = False) -> tuple[int, dict]:
        since = None
        if query.get("pageToken"):
            marker, offset = query["pageToken"].split(":")
            since, offset = (None if marker == "full" else int(marker)), int(offset)
        else:
            offset = 0
            if query.get("syncToken"):
                since = int(query["syncToken"].removeprefix("st-"))
                if since < self.min_valid_version:
                    if people:
                        return 400, {"error": {"code": 400, "status": "FAILED_PRECONDITION",
                                               "message": "Sync token is expired. Clear local cache and retry call "
                                                          "without the sync token.",
                                               "details": [{"reason": "EXPIRED_SYNC_TOKEN"}]}}
                    return 410, {"error": {"code": 410, "message": "Sync token is no longer valid, a full sync "
                                                                   "is required.",
                                           "errors": [{"domain": "calendar", "reason": "fullSyncRequired"}]}}
        with self._lock:
            changes = self._changes(store, since)
            page = changes[offset:offset + self.page_size]
            body = {items_key: [tombstone(key) if entry["deleted"] else entry["data"] for key, entry in page]}
            if kind:
                body["kind"] = kind
            if offset + self.page_size < len(changes):
                body["nextPageToken"] = f"{'full' if since is None else since}:{offset + self.page_size}"
            else:
                body["nextSyncToken"] = f"st-{self.version}"
        return 200, body

    def _graph_calendars(self, query) -> tuple[int, dict]:
        offset = int(query.get("$skip", 0))
        with self._lock:
            live = self._changes("microsoft:calendars", None)
        body = {"@odata.context": "$metadata#users('me')/calendars",
                "value": [entry["data"] for _, entry in live[offset:offset + self.page_size]]}
        if offset + self.page_size < len(live):
            body["@odata.nextLink"] = f"{self.url}/microsoft/graph/v1.0/me/calendars?$skip={offset + self.page_size}"
        return 200, body

    def _graph_delta(self, store, path, query) -> tuple[int, dict]:
        since, offset = None, 0
        if query.get("$skiptoken"):
            marker, offset_text = query["$skiptoken"].split(".")
            since, offset = (None if marker == "full" else int(marker)), int(offset_text)
        elif query.get("$deltatoken"):
            since = int(query["$deltatoken"])
            if since < self.min_valid_version:
                return 410, {"error": {"code": "SyncStateNotFound", "message": "The sync state is not found."}}
        elif "startDateTime" not in query and ":view:" in store:
            return 400, {"error": {"code": "ErrorInvalidParameter", "message": "startDateTime is required"}}
        with self._lock:
            changes = self._changes(store, since)
            page = changes[offset:offset + self.page_size]
            body = {"value": [{"id": key, "@removed": {"reason": "deleted"}} if entry["deleted"] else entry["data"]
                              for key, entry in page]}
            base = f"{self.url}{quote(path)}"
            if self.evil_link:
                body["@odata.nextLink"], self.evil_link = self.evil_link, ""
            elif offset + self.page_size < len(changes):
                body["@odata.nextLink"] = f"{base}?$skiptoken={'full' if since is None else since}.{offset + self.page_size}"
            else:
                body["@odata.deltaLink"] = f"{base}?$deltatoken={self.version}"
        return 200, body


def _unsigned_id_token(platform: str, email: str) -> str:
    """An OpenID id_token as the token endpoint returns it (the client reads it without verifying)."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claim = {"email": email} if platform == "google" else {"preferred_username": email}
    return f"{part({'alg': 'RS256', 'kid': 'fake'})}.{part({'sub': email, **claim})}.{part({'sig': 0})}"

