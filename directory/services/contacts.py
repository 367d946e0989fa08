"""Writes of contacts, one at a time and by bulk import, under the user's contacts lock that keeps
each address on one contact."""
import json
from dataclasses import asdict, dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from accounts.events import changed_attributes, event_emit
from accounts.models import Account, EventType, User
from tskr.exceptions import BadRequest, Conflict, conflict_on_duplicate
from tskr.infra.ids import new_id
from tskr.services import model_update

from ..lookups import json_array_contains_any, value_in
from ..models import Contact, UserIdentifier
from ..validation import contact_row_clean, unique_emails
from .common import api_data

#: The contract's limit on one bulk import.
MAX_IMPORT_CONTACTS = 1000


def _registered_users_by_email(*, account: Account, emails: list[str]) -> dict[str, str]:
    """Email -> id of the account's user it belongs to: their login email or one of their email identifiers."""
    if not emails:
        return {}
    found = dict(UserIdentifier.objects.filter(value_in("value", emails), account=account,
                                               type=UserIdentifier.Type.EMAIL, user__isnull=False)
                 .values_list("value", "user_id"))
    found.update(User.objects.filter(value_in("email", emails), account=account).values_list("email", "id"))
    return found


def _linked_user_id(registered: dict[str, str], email: str, emails: list[str]) -> str | None:
    return next((registered[address] for address in [email, *emails] if address in registered), None)


def _lock_contacts_of(user_id: str) -> None:
    """Serialise writers of one user's contacts until the transaction ends (PostgreSQL advisory lock).

    A bulk import reads the contacts its addresses reach, then inserts and updates many rows: two
    imports of one user interleaving would wait on each other's rows and unique-index entries in
    different orders (a deadlock), and either could add an address the other just gave a contact.
    Taking this one lock first is the single lock order: the second import waits, then reads what the
    first committed. Single contact writes that set addresses take it too, so no writer adds an address
    another one is adding. Other users' writers take other keys and run in parallel. SQLite serialises
    all writers by itself.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"tskr:contacts:{user_id}"])


def _ensure_contact_addresses_free(*, user_id: str, addresses: list[str], exclude_id: str | None = None) -> None:
    """409 `contact_exists` when another contact of the user holds one of `addresses` (primary or additional).

    Call with the user's contacts lock held, so a concurrent import or create cannot take the address
    between this check and the write."""
    if not addresses:
        return
    taken = (Contact.objects.filter(user_id=user_id).filter(value_in("email", addresses)
                                                            | json_array_contains_any("emails", addresses))
             .exclude(id=exclude_id).values_list("email", "emails").first())
    if taken is not None:
        address = next(a for a in addresses if a == taken[0] or a in taken[1])
        raise Conflict(f"You already have a contact with the address {address}", error_code="contact_exists")


def _save_contact(contact: Contact) -> Contact:
    with conflict_on_duplicate(Conflict("You already have a contact with this email", error_code="contact_exists")):
        contact.save()
    return contact


@transaction.atomic
def contact_create(*, account: Account, user: User, name: str, email: str = "", emails: list[str] | None = None,
                   **fields) -> Contact:
    email = email.strip().lower()
    emails = unique_emails(emails or [], exclude=email)
    addresses = [e for e in [email, *emails] if e]
    _lock_contacts_of(user.id)
    _ensure_contact_addresses_free(user_id=user.id, addresses=addresses)
    registered = _registered_users_by_email(account=account, emails=addresses)
    contact = _save_contact(Contact(account=account, user=user, name=name, email=email, emails=emails,
                                    linked_user_id=_linked_user_id(registered, email, emails), **fields))
    event_emit(account_id=account.id, type=EventType.CONTACT_CREATED, data=api_data(contact))
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **fields) -> Contact:
    """Change a contact; a changed email (or emails) must not be another contact's address (409
    `contact_exists`) and re-resolves which registered user the contact is linked to."""
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
    before = api_data(contact)
    model_update(contact, fields, save=False)
    contact.emails = unique_emails(contact.emails, exclude=contact.email)
    if "email" in fields or "emails" in fields:
        addresses = [e for e in [contact.email, *contact.emails] if e]
        _lock_contacts_of(contact.user_id)
        _ensure_contact_addresses_free(user_id=contact.user_id, addresses=addresses, exclude_id=contact.id)
        registered = _registered_users_by_email(account=contact.account, emails=addresses)
        contact.linked_user_id = _linked_user_id(registered, contact.email, contact.emails)
    _save_contact(contact)
    after = api_data(contact)
    event_emit(account_id=contact.account_id, type=EventType.CONTACT_UPDATED, data=after,
               previous_attributes=changed_attributes(before, after))
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    event_emit(account_id=contact.account_id, type=EventType.CONTACT_DELETED, data=api_data(contact))
    contact.delete()


@dataclass
class ContactsImportResult:
    """What a bulk import did. `total` == created + updated + skipped + len(errors)."""

    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


#: Fields a bulk import row may set on an existing contact (only when the row carries them).
_IMPORT_FIELDS = ("name", "phone", "company", "title", "timezone")


@transaction.atomic
def contacts_bulk_import(*, account: Account, user: User, rows: list[dict]) -> ContactsImportResult:
    """Create or update up to 1000 contacts of `user` in one transaction, with a fixed number of queries.

    `rows` are dicts in the API's camelCase item shape: {"email", "name", "phone", "company", "title",
    "timezone", "emails"}; only "email" is required. No two contacts of the user end up sharing an
    address (primary or additional). Steps:
    1. more than MAX_IMPORT_CONTACTS rows: 400 `too_many_contacts`, nothing written;
    2. validate each row; an invalid one becomes an error `{index, email, error}`, the rest go on;
    3. take the user's contacts lock (`_lock_contacts_of`), then one query loads the user's contacts
       holding any address of any row (as email or in `emails`);
    4. rows in order: a row goes to the contact holding its email, else the first contact holding one
       of its additional emails (an existing one, or one an earlier row of the batch creates), else to
       a new contact (name defaults to the email). The first row reaching a contact sets its fields
       (only the keys the row carries); a later row reaching the same contact is `skipped`, but its
       addresses are still added, so no address of the batch is lost. A row's addresses that no other
       contact holds are added to the contact's `emails` (never removed); an address another contact
       already holds stays with that contact (contacts are never merged with each other);
    5. two queries find the account's registered users owning the addresses: contacts are linked to them;
    6. one INSERT and one UPDATE write everything (on PostgreSQL from arrays of values; elsewhere
       Django's bulk_create and bulk_update).
    Used by `POST /contacts/bulk-import` and by the calendars app's provider contact sync.
    """
    if len(rows) > MAX_IMPORT_CONTACTS:
        raise BadRequest(f"At most {MAX_IMPORT_CONTACTS} contacts per import; got {len(rows)}",
                         error_code="too_many_contacts")
    result = ContactsImportResult(total=len(rows))
    valid: list[dict] = []
    for index, row in enumerate(rows):
        data, error = contact_row_clean(row)
        if error:
            raw_email = row.get("email") if isinstance(row, dict) else None
            result.errors.append({"index": index, "email": raw_email if isinstance(raw_email, str) else None,
                                  "error": error})
        else:
            valid.append(data)
    if not valid:
        return _imported(account=account, user=user, result=result)

    _lock_contacts_of(user.id)
    addresses = list({address: None for data in valid for address in [data["email"], *data.get("emails", [])]})
    existing = list(Contact.objects.filter(account=account, user=user).filter(
        value_in("email", addresses) | json_array_contains_any("emails", addresses)).values(
        "id", "email", "emails", "linked_user_id", *_IMPORT_FIELDS))
    # address -> the contact (a dict of its values) holding it; a primary email wins over an additional one
    holder: dict[str, dict] = {}
    for contact in existing:
        for address in contact["emails"]:
            holder.setdefault(address, contact)
    holder.update({contact["email"]: contact for contact in existing if contact["email"]})
    registered = _registered_users_by_email(account=account, emails=addresses)

    to_create: dict[str, dict] = {}
    to_update: dict[str, dict] = {}
    for data in valid:
        row_addresses = [data["email"], *data.get("emails", [])]
        contact = holder.get(data["email"]) or next((holder[a] for a in row_addresses if a in holder), None)
        if contact is None:
            contact = {name: data.get(name, "") for name in _IMPORT_FIELDS}
            contact.update(id=new_id("contact"), email=data["email"], emails=[], linked_user_id=None,
                           name=contact["name"] or data["email"])
            to_create[contact["id"]] = contact
            result.created += 1
        elif contact["id"] in to_create or contact["id"] in to_update:
            result.skipped += 1
        else:
            contact.update({name: data[name] for name in _IMPORT_FIELDS
                            if name in data and not (name == "name" and not data[name])})
            to_update[contact["id"]] = contact
            result.updated += 1
        free = [address for address in row_addresses if address not in holder]
        holder.update(dict.fromkeys(free, contact))
        contact["emails"] = unique_emails([*contact["emails"], *free], exclude=contact["email"])
    for contact in [*to_create.values(), *to_update.values()]:
        contact["linked_user_id"] = (_linked_user_id(registered, contact["email"], contact["emails"])
                                     or contact["linked_user_id"])
    write = _contacts_write_postgresql if connection.vendor == "postgresql" else _contacts_write_orm
    with conflict_on_duplicate(Conflict("The contacts changed during the import; retry it",
                                        error_code="import_conflict")):
        write(account=account, user=user, to_create=list(to_create.values()), to_update=list(to_update.values()),
              now=timezone.now())
    return _imported(account=account, user=user, result=result)


def _imported(*, account: Account, user: User, result: ContactsImportResult) -> ContactsImportResult:
    """One `contacts.imported` event per import, with its counts (not one event per contact)."""
    event_emit(account_id=account.id, type=EventType.CONTACTS_IMPORTED, data={"userId": user.id, **result.as_dict()})
    return result


def _contacts_write_postgresql(*, account: Account, user: User, to_create: list[dict], to_update: list[dict],
                               now) -> None:
    """One INSERT and one UPDATE, each reading its rows from a single JSON parameter.

    Django's bulk_update builds a CASE per field per row (Python time and a slow statement that grow
    with the import), and a placeholder per value costs quoting time in the driver; one
    JSON document per statement keeps the Python and the SQL linear and small.
    """
    table = Contact._meta.db_table
    rows = ("jsonb_to_recordset(%s::jsonb) AS item (id text, linked_user_id text, email text, emails jsonb, "
            f"{', '.join(f'{name} text' for name in _IMPORT_FIELDS)})")
    with connection.cursor() as cursor:
        if to_create:
            cursor.execute(
                f"INSERT INTO {table} (id, account_id, user_id, linked_user_id, email, emails, "
                f"{', '.join(_IMPORT_FIELDS)}, notes, tags, metadata, created_at, updated_at) "
                f"SELECT item.id, %s, %s, item.linked_user_id, item.email, item.emails, "
                f"{', '.join(f'item.{name}' for name in _IMPORT_FIELDS)}, '', '[]'::jsonb, '{{}}'::jsonb, %s, %s "
                f"FROM {rows}",
                [account.id, user.id, now, now, json.dumps(to_create)])
        if to_update:
            cursor.execute(
                f"UPDATE {table} AS contact SET linked_user_id = item.linked_user_id, emails = item.emails, "
                f"{', '.join(f'{name} = item.{name}' for name in _IMPORT_FIELDS)}, updated_at = %s "
                f"FROM {rows} WHERE contact.id = item.id",
                [now, json.dumps(to_update)])


def _contacts_write_orm(*, account: Account, user: User, to_create: list[dict], to_update: list[dict], now) -> None:
    """The portable write for other databases (SQLite): bulk_create and bulk_update."""
    Contact.objects.bulk_create([Contact(account=account, user=user, **values) for values in to_create])
    Contact.objects.bulk_update([Contact(updated_at=now, **values) for values in to_update],
                                [*_IMPORT_FIELDS, "emails", "linked_user", "updated_at"])
