"""Writes for the directory: memories, contacts (with bulk import), identifiers and preferences."""
import json
from dataclasses import asdict, dataclass, field

import phonenumbers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from accounts.events import changed_attributes, event_emit
from accounts.models import Account, EventType, User
from tskr.authentication import forget_cached_user
from tskr.exceptions import BadRequest, Conflict, ValidationFailed, conflict_on_duplicate
from tskr.ids import new_id

from . import preferences as skill_preferences
from .lookups import json_array_contains_any, value_in
from .models import Contact, IdentifierPreferences, Memory, UserIdentifier
from .validation import contact_row_clean, ensure_choice, platforms_errors, unique_emails, validation_failed

#: The contract's limit on one bulk import.
MAX_IMPORT_CONTACTS = 1000


def _api_data(instance: Memory | Contact) -> dict:
    """A memory or contact as the API answers it: the `data` of its webhook events."""
    from .api.serializers import ContactSerializer, MemorySerializer  # the serializers import this package

    return (MemorySerializer if isinstance(instance, Memory) else ContactSerializer)(instance).data


# -- memories ---------------------------------------------------------------------------------

@transaction.atomic
def memory_create(*, account: Account, user: User, title: str, content: str, type: str = Memory.Type.NOTE,
                  tags: list[str] | None = None, metadata: dict | None = None) -> Memory:
    ensure_choice(type, Memory.Type.values, "type")
    memory = Memory.objects.create(account=account, user=user, title=title, content=content, type=type,
                                   tags=list(dict.fromkeys(tags or [])), metadata=metadata or {})
    event_emit(account_id=account.id, type=EventType.MEMORY_CREATED, data=_api_data(memory))
    return memory


@transaction.atomic
def memory_update(*, memory: Memory, **fields) -> Memory:
    if "type" in fields:
        ensure_choice(fields["type"], Memory.Type.values, "type")
    if "tags" in fields:
        fields["tags"] = list(dict.fromkeys(fields["tags"]))
    before = _api_data(memory)
    for name, value in fields.items():
        setattr(memory, name, value)
    memory.save()
    after = _api_data(memory)
    event_emit(account_id=memory.account_id, type=EventType.MEMORY_UPDATED, data=after,
               previous_attributes=changed_attributes(before, after))
    return memory


@transaction.atomic
def memory_delete(*, memory: Memory) -> None:
    event_emit(account_id=memory.account_id, type=EventType.MEMORY_DELETED, data=_api_data(memory))
    memory.delete()


# -- contacts ---------------------------------------------------------------------------------

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


def _ensure_contact_email_free(*, user: User, email: str, exclude_id: str | None = None) -> None:
    if email and Contact.objects.filter(user=user, email=email).exclude(id=exclude_id).exists():
        raise Conflict("You already have a contact with this email", error_code="contact_exists")


def _save_contact(contact: Contact) -> Contact:
    with conflict_on_duplicate(Conflict("You already have a contact with this email", error_code="contact_exists")):
        contact.save()
    return contact


@transaction.atomic
def contact_create(*, account: Account, user: User, name: str, email: str = "", emails: list[str] | None = None,
                   **fields) -> Contact:
    email = email.strip().lower()
    emails = unique_emails(emails or [], exclude=email)
    _ensure_contact_email_free(user=user, email=email)
    registered = _registered_users_by_email(account=account, emails=[e for e in [email, *emails] if e])
    contact = _save_contact(Contact(account=account, user=user, name=name, email=email, emails=emails,
                                    linked_user_id=_linked_user_id(registered, email, emails), **fields))
    event_emit(account_id=account.id, type=EventType.CONTACT_CREATED, data=_api_data(contact))
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **fields) -> Contact:
    """Change a contact; a changed email (or emails) re-resolves which registered user it is linked to."""
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
        _ensure_contact_email_free(user=contact.user, email=fields["email"], exclude_id=contact.id)
    before = _api_data(contact)
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.emails = unique_emails(contact.emails, exclude=contact.email)
    if "email" in fields or "emails" in fields:
        addresses = [e for e in [contact.email, *contact.emails] if e]
        registered = _registered_users_by_email(account=contact.account, emails=addresses)
        contact.linked_user_id = _linked_user_id(registered, contact.email, contact.emails)
    _save_contact(contact)
    after = _api_data(contact)
    event_emit(account_id=contact.account_id, type=EventType.CONTACT_UPDATED, data=after,
               previous_attributes=changed_attributes(before, after))
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    event_emit(account_id=contact.account_id, type=EventType.CONTACT_DELETED, data=_api_data(contact))
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
    "timezone", "emails"}; only "email" is required. Steps:
    1. more than MAX_IMPORT_CONTACTS rows: 400 `too_many_contacts`, nothing written;
    2. validate each row; an invalid one becomes an error `{index, email, error}`, the rest go on;
    3. a row repeating an earlier row's email (case-insensitive), or reaching a contact an earlier row
       already updated, is skipped;
    4. one query loads the user's contacts whose email or additional `emails` match a row's email:
       those are updated (only the keys the row carries; additional emails are added, never removed),
       the other rows become new contacts (name defaults to the email);
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
    seen: set[str] = set()
    for index, row in enumerate(rows):
        data, error = contact_row_clean(row)
        if error:
            raw_email = row.get("email") if isinstance(row, dict) else None
            result.errors.append({"index": index, "email": raw_email if isinstance(raw_email, str) else None,
                                  "error": error})
        elif data["email"] in seen:
            result.skipped += 1
        else:
            seen.add(data["email"])
            valid.append(data)
    if not valid:
        return _imported(account=account, user=user, result=result)

    row_emails = [data["email"] for data in valid]
    existing = list(Contact.objects.filter(account=account, user=user).filter(
        value_in("email", row_emails) | json_array_contains_any("emails", row_emails)).values(
        "id", "email", "emails", "linked_user_id", *_IMPORT_FIELDS))
    by_email: dict[str, dict] = {}
    for contact in existing:
        for address in contact["emails"]:
            by_email.setdefault(address, contact)
    by_email.update({contact["email"]: contact for contact in existing if contact["email"]})
    addresses = list({address for data in valid for address in [data["email"], *data.get("emails", [])]})
    registered = _registered_users_by_email(account=account, emails=addresses)

    to_create: list[dict] = []
    to_update: dict[str, dict] = {}
    for data in valid:
        extra_emails = data.get("emails", [])
        linked_user_id = _linked_user_id(registered, data["email"], extra_emails)
        contact = by_email.get(data["email"])
        if contact is None:
            values = {name: data.get(name, "") for name in _IMPORT_FIELDS}
            values.update(id=new_id("contact"), email=data["email"], emails=extra_emails,
                          linked_user_id=linked_user_id, name=values["name"] or data["email"])
            to_create.append(values)
        elif contact["id"] in to_update:
            result.skipped += 1
        else:
            values = {name: contact[name] for name in _IMPORT_FIELDS}
            values.update({name: data[name] for name in _IMPORT_FIELDS
                           if name in data and not (name == "name" and not data[name])})
            values.update(id=contact["id"], email=contact["email"],
                          linked_user_id=linked_user_id or contact["linked_user_id"],
                          emails=unique_emails([*contact["emails"], data["email"], *extra_emails],
                                               exclude=contact["email"]))
            to_update[contact["id"]] = values
    write = _contacts_write_postgresql if connection.vendor == "postgresql" else _contacts_write_orm
    with conflict_on_duplicate(Conflict("The contacts changed during the import; retry it",
                                        error_code="import_conflict")):
        write(account=account, user=user, to_create=to_create, to_update=list(to_update.values()), now=timezone.now())
    result.created, result.updated = len(to_create), len(to_update)
    return _imported(account=account, user=user, result=result)


def _imported(*, account: Account, user: User, result: ContactsImportResult) -> ContactsImportResult:
    """One `contacts.imported` event per import, with its counts (not one event per contact)."""
    event_emit(account_id=account.id, type=EventType.CONTACTS_IMPORTED, data={"userId": user.id, **result.as_dict()})
    return result


def _contacts_write_postgresql(*, account: Account, user: User, to_create: list[dict], to_update: list[dict],
                               now) -> None:
    """One INSERT and one UPDATE, each reading its rows from a single JSON parameter.

    Django's bulk_update builds a CASE per field per row (about a second of Python for 1000 rows and
    a slow statement), and a placeholder per value costs milliseconds of quoting in the driver; one
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


# -- identifiers ------------------------------------------------------------------------------

def identifier_normalize(*, type: str, value: str) -> str:
    """The stored form of a value: emails lower-cased and checked, phones in E.164 when parseable."""
    ensure_choice(type, UserIdentifier.Type.values, "type")
    value = value.strip()
    if not value:
        raise ValidationFailed("value is required", details={"value": ["This field may not be blank."]})
    if type == UserIdentifier.Type.EMAIL:
        value = value.lower()
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValidationFailed("value must be an email address for an email identifier",
                                   details={"value": ["Enter a valid email address."]}) from None
    elif type == UserIdentifier.Type.PHONE:
        try:
            number = phonenumbers.parse(value, None)
            if phonenumbers.is_possible_number(number):
                value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            pass  # not internationally parseable (no +country code): keep what was given
    return value


def _validate_platforms(platforms: dict) -> None:
    errors = platforms_errors(platforms)
    if errors:
        raise validation_failed(errors)


def _merge_platforms(current: dict, changes: dict) -> dict:
    merged = dict(current)
    for platform, grant in changes.items():
        if grant is None:
            merged.pop(platform, None)
        else:
            merged[platform] = grant
    return merged


def _save_identifier(identifier: UserIdentifier) -> UserIdentifier:
    with conflict_on_duplicate(Conflict(f"An identifier {identifier.type}:{identifier.value} already exists in "
                                        "this account", error_code="identifier_exists")):
        identifier.save()
    return identifier


def _set_primary(identifier: UserIdentifier) -> None:
    """Make `identifier` its user's only primary of its type; for email, the user's email follows.

    The user's row lock serialises concurrent primary changes of one user (the partial unique constraint
    `identifier_one_primary_per_user_type` would otherwise fail the loser of the race with an error)."""
    user = User.objects.select_for_update().get(pk=identifier.user_id)
    identifier.user = user
    UserIdentifier.objects.filter(user_id=user.id, type=identifier.type, primary=True).exclude(
        id=identifier.id).update(primary=False, updated_at=timezone.now())
    identifier.primary = True
    if identifier.type == UserIdentifier.Type.EMAIL:
        if User.objects.filter(account_id=user.account_id, email=identifier.value).exclude(id=user.id).exists():
            raise Conflict("Another user of this account has this email", error_code="email_taken")
        user.email = identifier.value
        user.save(update_fields=["email", "updated_at"])
        forget_cached_user(user)


@transaction.atomic
def identifier_create(*, account: Account, type: str, value: str, user: User | None = None, label: str = "",
                      verified: bool = False, primary: bool = False, metadata: dict | None = None,
                      platforms: dict | None = None) -> UserIdentifier:
    """Create an identifier, optionally linked to a user of the account.

    `primary` on a linked identifier demotes the user's other primary of that type; for an email
    that makes it the user's login email too (as `make-primary` does).
    """
    platforms = platforms or {}
    _validate_platforms(platforms)
    identifier = UserIdentifier(account=account, user=user, type=type, label=label, verified=verified,
                                value=identifier_normalize(type=type, value=value), metadata=metadata or {},
                                platforms=_merge_platforms({}, platforms))
    _save_identifier(identifier)
    if primary:
        if user is not None:
            _set_primary(identifier)
        identifier.primary = True
        identifier.save(update_fields=["primary", "updated_at"])
    return identifier


@transaction.atomic
def identifier_update(*, identifier: UserIdentifier, **fields) -> UserIdentifier:
    """Change label, verified, primary, metadata or platforms (merged per platform; null removes one).

    `primary: true` behaves as make-primary; `primary: false` on a user's primary email is refused
    (400 `primary_email_required`): make another email identifier primary instead.
    """
    if "platforms" in fields:
        _validate_platforms(fields["platforms"])
        fields["platforms"] = _merge_platforms(identifier.platforms, fields["platforms"])
    primary = fields.pop("primary", None)
    for name, value in fields.items():
        setattr(identifier, name, value)
    if primary is False and identifier.primary and identifier.user_id and identifier.type == UserIdentifier.Type.EMAIL:
        raise BadRequest("A user's primary email cannot be unset; make another email identifier primary instead",
                         error_code="primary_email_required")
    if primary is not None and primary != identifier.primary:
        if primary and identifier.user_id:
            _set_primary(identifier)
        identifier.primary = primary
    return _save_identifier(identifier)


@transaction.atomic
def identifier_make_primary(*, identifier: UserIdentifier) -> UserIdentifier:
    """Make an email identifier its user's primary email: the user's `email` and every primary flag
    of their email identifiers change together or not at all."""
    if identifier.type != UserIdentifier.Type.EMAIL:
        raise BadRequest("Only email identifiers can be made primary", error_code="identifier_not_email")
    if identifier.user_id is None:
        raise BadRequest("The identifier is not linked to a user", error_code="identifier_not_linked")
    identifier = UserIdentifier.objects.select_for_update().get(id=identifier.id)
    _set_primary(identifier)
    identifier.save(update_fields=["primary", "updated_at"])
    return identifier


@transaction.atomic
def identifier_delete(*, identifier: UserIdentifier) -> None:
    """Delete an identifier with its preferences, OAuth grants and calendar links (by cascade), and the
    calendars no other identifier of the account links, with their events.

    A user keeps at least one email identifier, and their primary one: deleting either is a 409.
    """
    from calendars_app.services import calendar_orphans_delete  # calendars_app builds on directory

    if identifier.user_id and identifier.type == UserIdentifier.Type.EMAIL:
        siblings = UserIdentifier.objects.select_for_update().filter(user_id=identifier.user_id,
                                                                     type=UserIdentifier.Type.EMAIL)
        if not siblings.exclude(id=identifier.id).exists():
            raise Conflict("This is the user's last email identifier", error_code="last_email_identifier")
        if identifier.primary:
            raise Conflict("This is the user's primary email; make another email identifier primary first",
                           error_code="primary_email_identifier")
    identifier.delete()
    calendar_orphans_delete(account_id=identifier.account_id)


# -- preferences ------------------------------------------------------------------------------

@transaction.atomic
def preferences_set(*, identifier: UserIdentifier, skill: str, values: dict) -> dict:
    """Validate `values` strictly and merge them into what is stored for `skill`; returns the skill's full view.

    An unknown skill is a 404 `unknown_skill`; invalid values a 400 naming the field paths.
    """
    values = skill_preferences.validated_skill_values(skill, values)
    stored, _ = IdentifierPreferences.objects.select_for_update().get_or_create(
        user_identifier=identifier, defaults={"account_id": identifier.account_id})
    stored.data = {**stored.data, skill: skill_preferences.deep_merge(stored.data.get(skill, {}), values)}
    stored.save(update_fields=["data", "updated_at"])
    return skill_preferences.skill_view(stored.data, skill)
