"""Writes of identifiers: normalisation, creation, changes, the primary email and deletion, all
under one lock order (the user, then their identifiers)."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.authentication import forget_cached_user
from accounts.models import Account, User
from tskr.emails import normalize_email
from tskr.exceptions import BadRequest, Conflict, ValidationFailed, conflict_on_duplicate
from tskr.services import model_update

from .. import hooks
from ..models import UserIdentifier
from ..phones import phone_key
from ..validation import ensure_choice, platforms_errors, validation_failed


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
