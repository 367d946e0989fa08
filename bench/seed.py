"""Seeds the bench database with realistic volumes through COPY (the real models' tables and columns).

One account with 20 users and an assistant; chats with messages (alternating user and assistant,
timestamps increasing); tasks with owners and followers; memories and contacts, most of them the
bench caller's (user 0) so deep pages and bulk imports have rows to work on; three users (the caller
first) in three zones with a synced calendar each, holding 1,000 occurrences over the next 14 days.
"""
import json
import random
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from django.db import connection, transaction

from accounts.models import Account, Assistant, Certificate, User
from accounts.services import generate_key_pair
from conversations.models import Chat, Message
from directory.models import UserIdentifier
from tasks_app.models import Task
from tskr.infra.ids import new_id

WORDS = ("meeting budget report review schedule call client launch quarter invoice travel design plan hiring "
         "contract deadline follow-up update draft agenda notes lunch demo feedback proposal roadmap").split()


@dataclass(frozen=True)
class SeedSize:
    users: int = 20
    chats: int = 10_000
    messages_per_chat: int = 50
    tasks: int = 10_000
    memories: int = 100_000
    contacts: int = 10_000
    #: Chats whose last message is a user's, for POST /chats/:id/process.
    process_chats: int = 20
    #: Calendar occurrences of each of the three availability participants over the next 14 days.
    occurrences: int = 1_000


FULL = SeedSize()
QUICK = SeedSize(chats=200, messages_per_chat=10, tasks=500, memories=2_000, contacts=500)


@dataclass
class Seeded:
    account_id: str
    user_id: str
    user_email: str
    kid: str
    private_pem: str
    chat_id: str
    process_chat_ids: list
    contact_emails: list
    size: dict
    participant_ids: list


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize()


def _copy(model, fields: list[str], rows) -> int:
    meta = model._meta
    columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in fields)
    count = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def _directory_tables_exist() -> bool:
    from directory.models import Contact, Memory

    tables = set(connection.introspection.table_names())
    return Memory._meta.db_table in tables and Contact._meta.db_table in tables


@transaction.atomic
def seed(size: SeedSize, *, log=print) -> Seeded:
    rng = random.Random(8)
    now = datetime.now(timezone.utc)
    start = now - timedelta(days=365)
    account = Account.objects.create(name="Bench Co")
    public_pem, private_pem = generate_key_pair()
    certificate = Certificate.objects.create(account=account, kid=new_id("kid"), public_key_pem=public_pem,
                                             name="bench")
    assistant = Assistant.objects.create(account=account, name="Tess", email="tess@bench.test",
                                         signature="Tess")
    users = User.objects.bulk_create([
        User(account=account, email=f"user{i}@bench.test", first_name=f"First{i}", last_name=f"Last{i}")
        for i in range(size.users)])
    identifiers = UserIdentifier.objects.bulk_create([
        UserIdentifier(account=account, user=user, type=UserIdentifier.Type.EMAIL, value=user.email, primary=True)
        for user in users])
    me = users[0]
    empty_object, empty_list = "{}", "[]"

    def chat_rows(count: int, per_chat: int, out_ids: list):
        for c in range(count):
            chat_id = new_id("chat")
            out_ids.append(chat_id)
            created = start + timedelta(minutes=c)
            last = created + timedelta(minutes=per_chat)
            yield (chat_id, account.id, assistant.id, users[c % size.users].id, _sentence(rng, 2, 6), False,
                   "active", empty_object, per_chat, last, created, last)

    def message_rows(chat_ids: list, per_chat: int, *, last_from_user: bool):
        for index, chat_id in enumerate(chat_ids):
            created = start + timedelta(minutes=index)
            for m in range(per_chat):
                from_user = (m % 2 == 0) != (last_from_user and per_chat % 2 == 0)
                timestamp = created + timedelta(minutes=m + 1)
                yield (new_id("msg"), account.id, chat_id, me.id if from_user else None,
                       "user" if from_user else "assistant", "chat", _sentence(rng, 8, 40), empty_list,
                       empty_object, timestamp, timestamp)

    chat_fields = ["id", "account", "assistant", "created_by", "title", "title_generated", "status", "metadata",
                   "message_count", "last_message_at", "created_at", "updated_at"]
    message_fields = ["id", "account", "chat", "sender", "role", "platform", "content", "files", "metadata",
                      "timestamp", "updated_at"]
    chat_ids: list[str] = []
    _copy(Chat, chat_fields, chat_rows(size.chats, size.messages_per_chat, chat_ids))
    log(f"seeded {len(chat_ids)} chats")
    n = _copy(Message, message_fields, message_rows(chat_ids, size.messages_per_chat, last_from_user=False))
    log(f"seeded {n} messages")
    process_ids: list[str] = []
    _copy(Chat, chat_fields, chat_rows(size.process_chats, 3, process_ids))
    _copy(Message, message_fields, message_rows(process_ids, 3, last_from_user=True))

    statuses = [s.value for s in Task.Status]
    task_ids: list[str] = []

    def task_rows():
        for t in range(size.tasks):
            task_id = new_id("task")
            task_ids.append(task_id)
            created = start + timedelta(seconds=t * 30)
            yield (task_id, account.id, users[t % size.users].id, assistant.id, _sentence(rng, 3, 8),
                   _sentence(rng, 10, 30), "task", rng.choice(statuses[:3]) if t % 2 else statuses[0], "",
                   empty_object, created, created)

    _copy(Task, ["id", "account", "owner", "assistant", "title", "description", "type", "status", "summary",
                 "metadata", "created_at", "updated_at"], task_rows())
    through = Task.followers.through
    _copy(through, ["task", "user"], ((task_id, users[(i + 1 + k) % size.users].id)
                                      for i, task_id in enumerate(task_ids) for k in range(i % 3)))
    log(f"seeded {len(task_ids)} tasks")

    contact_emails: list[str] = []
    if _directory_tables_exist():
        from directory.models import Contact, Memory

        types = [t.value for t in Memory.Type]

        def memory_rows():
            for i in range(size.memories):
                created = start + timedelta(seconds=i * 60)
                owner = me if i % 2 == 0 else users[i % size.users]
                yield (new_id("mem"), account.id, owner.id, _sentence(rng, 3, 8), _sentence(rng, 15, 50),
                       types[i % len(types)], json.dumps(rng.sample(WORDS, 2)), empty_object, created, created)

        n = _copy(Memory, ["id", "account", "user", "title", "content", "type", "tags", "metadata", "created_at",
                           "updated_at"], memory_rows())
        log(f"seeded {n} memories")

        def contact_rows():
            for i in range(size.contacts):
                owner = me if i % 2 == 0 else users[i % size.users]
                email = f"contact{i}@example.test"
                if owner is me:
                    contact_emails.append(email)
                created = start + timedelta(seconds=i * 60)
                yield (new_id("contact"), account.id, owner.id, f"Contact {i}", email, json.dumps([email]),
                       f"+1555{i:07d}", "Example Inc", "Manager", "", "", empty_list, empty_object, created,
                       created)

        n = _copy(Contact, ["id", "account", "user", "name", "email", "emails", "phone", "company", "title",
                            "timezone", "notes", "tags", "metadata", "created_at", "updated_at"], contact_rows())
        log(f"seeded {n} contacts")
    else:
        log("directory tables missing: no memories or contacts seeded")
    participants = _seed_calendars(users[:3], identifiers[:3], now, size.occurrences, rng, log)
    return Seeded(account_id=account.id, user_id=me.id, user_email=me.email, kid=certificate.kid,
                  private_pem=private_pem, chat_id=chat_ids[0], process_chat_ids=process_ids,
                  contact_emails=contact_emails, size=asdict(size), participant_ids=participants)


def _seed_calendars(users, identifiers, now, count: int, rng: random.Random, log) -> list[str]:
    """Each user a zone and a calendar with `count` occurrences in the next 14 days, as the sync stores
    them: a third are instances of series (ids `<series>_<UTC start>_<n>`), a fifth free, a tenth
    declined; 15 to 60 minutes long, starting on quarter hours."""
    from calendars_app.models import Calendar, CalendarEvent, UserCalendar

    zones = ("America/New_York", "Europe/London", "America/Sao_Paulo")
    origin = now.replace(minute=0, second=0, microsecond=0)
    for user, identifier, zone in zip(users, identifiers, zones):
        User.objects.filter(id=user.id).update(timezone=zone)
        calendar = Calendar.objects.create(account=user.account, platform="google", reference_id=user.email,
                                           name=user.email, timezone=zone, last_synced_at=now)
        UserCalendar.objects.create(account=user.account, user=user, identifier=identifier, calendar=calendar,
                                    role="owner", is_primary=True)

        def rows(calendar_id=calendar.id):
            for n in range(count):
                start = origin + timedelta(minutes=15 * rng.randrange(14 * 24 * 4))
                end = start + timedelta(minutes=rng.choice((15, 30, 45, 60)))
                provider_id = f"series{n % 40}_{start:%Y%m%dT%H%M%SZ}_{n}" if n % 3 == 0 else f"single{n}"
                yield (new_id("cev"), calendar_id, provider_id, f"Meeting {n}", start, end, False, None, None,
                       "confirmed", "transparent" if n % 5 == 0 else "opaque",
                       "declined" if n % 10 == 1 else "accepted", n % 2 == 0, now)

        _copy(CalendarEvent, ["id", "calendar", "provider_id", "title", "start", "end", "all_day", "start_date",
                              "end_date", "status", "transparency", "response_status", "has_conference",
                              "updated_at"], rows())
    log(f"seeded {count} occurrences for each of {len(users)} participants")
    return [user.id for user in users]
