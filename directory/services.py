"""Writes for the directory: memories, contacts (with bulk import), identifiers and preferences."""
import json
from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from accounts.authentication import forget_cached_user
from accounts.events import changed_attributes, event_emit
from accounts.models import Account, EventType, User
from tskr.emails import normalize_email
from tskr.exceptions import BadRequest, Conflict, ValidationFailed, conflict_on_duplicate
from tskr.ids import new_id
from tskr.services import model_update

from . import hooks
from . import preferences as skill_preferences
from .lookups import json_array_contains_any, value_in
from .models import Contact, IdentifierPreferences, Memory, UserIdentifier
from .phones import phone_key
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
    model_update(memory, fields)
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
    event_emit(account_id=account.id, type=EventType.CONTACT_CREATED, data=_api_data(contact))
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **fields) -> Contact:
    """Change a contact; a changed email (or emails) must not be another contact's address (409
    `contact_exists`) and re-resolves which registered user the contact is linked to."""
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
    before = _api_data(contact)
    model_update(contact, fields, save=False)
    contact.emails = unique_emails(contact.emails, exclude=contact.email)
    if "email" in fields or "emails" in fields:
        addresses = [e for e in [contact.email, *contact.emails] if e]
        _lock_contacts_of(contact.user_id)
        _ensure_contact_addresses_free(user_id=contact.user_id, addresses=addresses, exclude_id=contact.id)
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


# -- identifiers ------------------------------------------------------------------------------

def identifier_normalize(*, type: str, value: str) -> str:
    """The form a value is stored and matched on: emails normalised (ASCII lower-cased), phones in
    E.164; both checked."""
    ensure_choice(type, UserIdentifier.Type.values, "type")
    value = value.strip()
    if not value:
        raise ValidationFailed("value is required", details={"value": ["This field may not be blank."]})
    if type == UserIdentifier.Type.EMAIL:
        value = normalize_email(value)
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValidationFailed("value must be an email address for an email identifier",
                                   details={"value": ["Enter a valid email address."]}) from None
    elif type == UserIdentifier.Type.PHONE:
        value = phone_key(value)
        if value is None:
            raise ValidationFailed("value must be a phone number in international form for a phone identifier",
                                   details={"value": ["Enter a phone number with its country code, such as "
                                                      "+1 415 555 0100."]})
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


def _lock_user(user_id: str) -> User:
    """Lock a user's row before any of their identifiers: the one lock order of every primary change and
    identifier deletion (user, then identifiers in id order), so concurrent ones queue instead of
    deadlocking. FOR NO KEY UPDATE: inserting a row that references the user (an identifier, a memory)
    does not wait for it."""
    return User.objects.select_for_update(no_key=True).get(pk=user_id)


def _lock_identifier_of(identifier: UserIdentifier, user: User) -> UserIdentifier:
    """The identifier's row, locked after its user's (`_lock_user`), as it is now: a concurrent request may
    have deleted it or moved it to another user meanwhile (409 `concurrent_change`: retry)."""
    current = UserIdentifier.objects.select_for_update().filter(id=identifier.id, user_id=user.id).first()
    if current is None:
        raise Conflict("The identifier changed meanwhile; retry", error_code="concurrent_change")
    return current


def _set_primary(identifier: UserIdentifier, user: User) -> None:
    """Make `identifier` its user's only primary of its type; for email, the user's email follows and
    the address it replaces stays a login alias (`proven_by_token`: tokens signed with it reach the same
    user). `user` is the identifier's user, locked by `_lock_user`.

    An email identifier must be `verified` (the integrator's assertion): 400 `identifier_not_verified`."""
    email = identifier.type == UserIdentifier.Type.EMAIL
    if email and not identifier.verified:
        raise BadRequest("Only a verified email identifier can become the primary email; set verified: true "
                         "once the address is verified", error_code="identifier_not_verified")
    if email and User.objects.filter(account_id=user.account_id, email=identifier.value).exclude(id=user.id).exists():
        raise Conflict("Another user of this account has this email", error_code="email_taken")
    demoted = UserIdentifier.objects.filter(user_id=user.id, type=identifier.type, primary=True).exclude(
        id=identifier.id)
    demoted.update(primary=False, updated_at=timezone.now(), **({"proven_by_token": True} if email else {}))
    identifier.user = user
    identifier.primary = True
    if email:
        user.email = identifier.value
        user.save(update_fields=["email", "updated_at"])
        forget_cached_user(user)


@transaction.atomic
def identifier_create(*, account: Account, type: str, value: str, user: User | None = None, label: str = "",
                      verified: bool = False, primary: bool = False, metadata: dict | None = None,
                      platforms: dict | None = None) -> UserIdentifier:
    """Create an identifier, optionally linked to a user of the account.

    `primary` on a linked identifier demotes the user's other primary of that type; for an email
    that makes it the user's login email too (as `make-primary` does). The user must be of the account
    (400 `user_not_in_account`): the API finds it in the account, the staff screens pick any user.
    """
    if user is not None and user.account_id != account.id:
        raise BadRequest("The user belongs to another account", error_code="user_not_in_account")
    platforms = platforms or {}
    _validate_platforms(platforms)
    stored = identifier_normalize(type=type, value=value)
    # a phone keeps its spelling for display (emails are shown lower-cased, as stored)
    as_given = value.strip() if type == UserIdentifier.Type.PHONE and value.strip() != stored else ""
    identifier = UserIdentifier(account=account, user=user, type=type, label=label, verified=verified,
                                value=stored, value_as_given=as_given, metadata=metadata or {},
                                platforms=_merge_platforms({}, platforms))
    locked_user = _lock_user(user.id) if primary and user is not None else None
    _save_identifier(identifier)
    if primary:
        if locked_user is not None:
            _set_primary(identifier, locked_user)
        identifier.primary = True
        identifier.save(update_fields=["primary", "updated_at"])
    return identifier


@transaction.atomic
def identifier_update(*, identifier: UserIdentifier, **fields) -> UserIdentifier:
    """Change label, verified, primary, metadata or platforms (merged per platform; null removes one).

    `primary: true` behaves as make-primary; `primary: false` on a user's primary email is refused
    (400 `primary_email_required`): make another email identifier primary instead.
    """
    primary = fields.pop("primary", None)
    if primary and identifier.user_id:
        user = _lock_user(identifier.user_id)
        identifier = _lock_identifier_of(identifier, user)
    if "platforms" in fields:
        _validate_platforms(fields["platforms"])
        fields["platforms"] = _merge_platforms(identifier.platforms, fields["platforms"])
    model_update(identifier, fields, save=False)
    if primary is False and identifier.primary and identifier.user_id and identifier.type == UserIdentifier.Type.EMAIL:
        raise BadRequest("A user's primary email cannot be unset; make another email identifier primary instead",
                         error_code="primary_email_required")
    if primary is not None and primary != identifier.primary:
        if primary and identifier.user_id:
            _set_primary(identifier, user)
        identifier.primary = primary
    return _save_identifier(identifier)


@transaction.atomic
def identifier_make_primary(*, identifier: UserIdentifier) -> UserIdentifier:
    """Make a verified email identifier its user's primary email: the user's `email` and every primary
    flag of their email identifiers change together or not at all; the previous address stays a login
    alias. Locks the user, then the identifier (`_lock_user`)."""
    if identifier.type != UserIdentifier.Type.EMAIL:
        raise BadRequest("Only email identifiers can be made primary", error_code="identifier_not_email")
    if identifier.user_id is None:
        raise BadRequest("The identifier is not linked to a user", error_code="identifier_not_linked")
    user = _lock_user(identifier.user_id)
    identifier = _lock_identifier_of(identifier, user)
    _set_primary(identifier, user)
    identifier.save(update_fields=["primary", "updated_at"])
    return identifier


@transaction.atomic
def identifier_delete(*, identifier: UserIdentifier) -> None:
    """Delete an identifier with its preferences, OAuth grants and calendar links (by cascade), and the
    calendars no other identifier of the account links, with their events.

    A user keeps at least one email identifier, and their primary one: deleting either is a 409.
    """
    if identifier.user_id and identifier.type == UserIdentifier.Type.EMAIL:
        user = _lock_user(identifier.user_id)  # the same lock order as primary changes
        siblings = list(UserIdentifier.objects.select_for_update().filter(
            user_id=user.id, type=UserIdentifier.Type.EMAIL).order_by("id"))
        identifier = next((sibling for sibling in siblings if sibling.id == identifier.id), None)
        if identifier is None:  # deleted or moved to another user meanwhile
            raise Conflict("The identifier changed meanwhile; retry", error_code="concurrent_change")
        if len(siblings) == 1:
            raise Conflict("This is the user's last email identifier", error_code="last_email_identifier")
        if identifier.primary:
            raise Conflict("This is the user's primary email; make another email identifier primary first",
                           error_code="primary_email_identifier")
        if identifier.proven_by_token:
            forget_cached_user(user)  # tokens carrying this alias stop reaching the user
    identifier.delete()
    hooks.identifier_deleted(account_id=identifier.account_id)  # calendars_app: unlinked calendars



def identifier_link_login_email(*, user: User, proven_by_token: bool) -> None:
    """Give a new user their primary email identifier: the account's unlinked one with that address if
    any, else a new one. `proven_by_token` when a delegated token's email created the user.
    Receives accounts' `user_created` hook."""
    identifiers = UserIdentifier.objects.filter(account_id=user.account_id, type=UserIdentifier.Type.EMAIL,
                                                value=user.email)
    linked = identifiers.filter(user__isnull=True).update(user=user, primary=True, proven_by_token=proven_by_token)
    if not linked and not identifiers.exists():
        UserIdentifier.objects.create(account_id=user.account_id, user=user, type=UserIdentifier.Type.EMAIL,
                                      value=user.email, verified=True, primary=True, proven_by_token=proven_by_token)


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
    hooks.preferences_changed(identifier=identifier, skill=skill)
    return skill_preferences.skill_view(stored.data, skill)
