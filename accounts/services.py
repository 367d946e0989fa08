"""Writes for accounts, certificates, users and assistants."""
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import IntegrityError, transaction
from django.utils import timezone

from admin_catalog.selectors import agent_get_assignable
from directory.models import UserIdentifier
from tskr.authentication import certificate_cache, forget_cached_user
from tskr.emails import normalize_email
from tskr.exceptions import Conflict, NotFound, conflict_on_duplicate
from tskr.services import model_update

from .models import Account, Assistant, Certificate, User


def account_create(*, name: str, staff: bool = False) -> Account:
    return Account.objects.create(name=name, staff=staff)


def generate_key_pair() -> tuple[str, str]:
    """A fresh RSA-2048 key pair: (public SubjectPublicKeyInfo PEM, private PKCS#8 PEM)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return public_pem, private_pem


def certificate_issue(*, account: Account, name: str = "") -> tuple[Certificate, str]:
    """Create a certificate and return it with its private key, which TSKR does not keep."""
    public_pem, private_pem = generate_key_pair()
    certificate = Certificate.objects.create(account=account, name=name, kid=f"kid_{secrets.token_urlsafe(18)}",
                                             public_key_pem=public_pem)
    return certificate, private_pem


def certificate_revoke(*, kid: str) -> Certificate:
    certificate = Certificate.objects.filter(kid=kid).first()
    if certificate is None:
        raise NotFound(f"No certificate with kid {kid}")
    if certificate.status != Certificate.Status.REVOKED:
        certificate.status = Certificate.Status.REVOKED
        certificate.revoked_at = timezone.now()
        certificate.save(update_fields=["status", "revoked_at"])
    certificate_cache.clear()  # this process at once; the others within TSKR_CERTIFICATE_CACHE_SECONDS
    return certificate


def _link_email_identifier(*, user: User, proven_by_token: bool) -> None:
    """Give a new user their primary email identifier: the account's unlinked one with that address if
    any, else a new one. `proven_by_token` when a delegated token's email created the user."""
    identifiers = UserIdentifier.objects.filter(account_id=user.account_id, type=UserIdentifier.Type.EMAIL,
                                                value=user.email)
    linked = identifiers.filter(user__isnull=True).update(user=user, primary=True, proven_by_token=proven_by_token)
    if not linked and not identifiers.exists():
        UserIdentifier.objects.create(account_id=user.account_id, user=user, type=UserIdentifier.Type.EMAIL,
                                      value=user.email, verified=True, primary=True, proven_by_token=proven_by_token)


def user_for_login(*, account: Account, email: str) -> User | None:
    """The user a delegated token's (normalised) email logs in as, or None.

    By the user's primary email, else by an email identifier a signed token proved to be theirs
    (`proven_by_token`: auto-provisioned, or their primary email before a make-primary), so tokens
    still signed with an old address reach the same user. Identifiers a client created are not
    followed, even `verified`: that would let one user capture another's login.
    """
    user = User.objects.filter(account=account, email=email).first()
    if user is None:
        user = User.objects.filter(account=account, identifiers__type=UserIdentifier.Type.EMAIL,
                                   identifiers__value=email, identifiers__proven_by_token=True).first()
    return user


def user_get_or_provision(*, account: Account, email: str, first_name: str = "", last_name: str = "") -> User:
    """The user of a delegated token (`user_for_login`), created on first sight with its email identifier.

    Concurrent first calls race on the (account, lower(email)) unique index: the loser's insert
    fails, its savepoint rolls back, and it reads the winner's row. No duplicates, no 500.
    """
    email = normalize_email(email)
    user = user_for_login(account=account, email=email)
    if user is not None:
        return user
    try:
        with transaction.atomic():
            user = User.objects.create(account=account, email=email, first_name=first_name, last_name=last_name)
            _link_email_identifier(user=user, proven_by_token=True)
            return user
    except IntegrityError:
        return User.objects.get(account=account, email=email)


@transaction.atomic
def user_create(*, account: Account, email: str, **fields) -> User:
    email = normalize_email(email)
    if user_for_login(account=account, email=email) is not None:  # a primary email or a login alias
        raise Conflict("A user with this email already exists", error_code="user_exists")
    _ensure_external_id_free(account=account, external_id=fields.get("external_id"))
    with conflict_on_duplicate(Conflict("A user with this email or externalId already exists",
                                        error_code="user_exists")):
        user = User.objects.create(account=account, email=email, **fields)
    _link_email_identifier(user=user, proven_by_token=False)
    return user


def _ensure_external_id_free(*, account: Account, external_id: str | None, exclude_id: str | None = None) -> None:
    if not external_id:
        return
    clash = User.objects.filter(account=account, external_id=external_id).exclude(id=exclude_id)
    if clash.exists():
        raise Conflict("Another user of this account has this externalId", error_code="external_id_conflict")


@transaction.atomic
def user_update(*, user: User, **fields) -> User:
    if "external_id" in fields:
        fields["external_id"] = fields["external_id"] or None
        _ensure_external_id_free(account=user.account, external_id=fields["external_id"], exclude_id=user.id)
    model_update(user, fields, save=False)
    with conflict_on_duplicate(Conflict("Another user of this account has this externalId",
                                        error_code="external_id_conflict")):
        user.save()
    forget_cached_user(user)
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete a user and their personal data (identifiers, memories, contacts, preferences, OAuth grants,
    and the calendars no other identifier of the account links).

    Shared history is kept: chats and their messages stay; tasks they owned stay with no owner.
    """
    from calendars_app.services import calendar_orphans_delete  # calendars_app builds on accounts

    forget_cached_user(user)
    user.delete()
    calendar_orphans_delete(account_id=user.account_id)


def _assistant_email_taken() -> Conflict:
    return Conflict("An assistant with this email already exists", error_code="assistant_email_taken")


def _ensure_assistant_email_free(*, account: Account, email: str, exclude_id: str | None = None) -> None:
    if Assistant.objects.filter(account=account, email=email).exclude(id=exclude_id).exists():
        raise _assistant_email_taken()


def _resolve_agent(fields: dict) -> None:
    """`agent_id` from the API -> `agent` (an active catalog agent, or None for the default agent)."""
    if "agent_id" in fields:
        agent_id = fields.pop("agent_id")
        fields["agent"] = agent_get_assignable(agent_id=agent_id) if agent_id else None


@transaction.atomic
def assistant_create(*, account: Account, name: str, email: str, **fields) -> Assistant:
    email = email.lower()
    _ensure_assistant_email_free(account=account, email=email)
    _resolve_agent(fields)
    with conflict_on_duplicate(_assistant_email_taken()):
        return Assistant.objects.create(account=account, name=name, email=email, **fields)


@transaction.atomic
def assistant_update(*, assistant: Assistant, **fields) -> Assistant:
    if "email" in fields:
        fields["email"] = fields["email"].lower()
        _ensure_assistant_email_free(account=assistant.account, email=fields["email"], exclude_id=assistant.id)
    if "writing_style" in fields:
        fields["writing_style"] = {**assistant.writing_style, **fields["writing_style"]}
    _resolve_agent(fields)
    model_update(assistant, fields, save=False)
    with conflict_on_duplicate(_assistant_email_taken()):
        assistant.save()
    return assistant


@transaction.atomic
def assistant_delete(*, assistant: Assistant) -> None:
    """Delete an assistant. Its chats and tasks are kept (their assistant becomes null)."""
    assistant.delete()
