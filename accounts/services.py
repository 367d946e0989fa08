"""Writes for accounts, certificates, users, assistants and webhook endpoints."""
import base64
import secrets
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from admin_catalog.selectors import agent_get_assignable
from tskr.emails import normalize_email
from tskr.exceptions import BadRequest, Conflict, NotFound, ValidationFailed, conflict_on_duplicate
from tskr.services import model_update

from . import hooks
from .authentication import certificate_cache, forget_cached_user
from .delivery import AddressRefused, deliver_on_commit, url_check
from .models import Account, Assistant, Certificate, Event, EventType, User, Webhook, WebhookDelivery


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


def user_for_login(*, account: Account, email: str) -> User | None:
    """The user a delegated token's (normalised) email logs in as, or None.

    By the user's primary email, else by an email identifier a signed token proved to be theirs
    (`proven_by_token`: auto-provisioned, or their primary email before a make-primary), so tokens
    still signed with an old address reach the same user. Identifiers a client created are not
    followed, even `verified`: that would let one user capture another's login.
    """
    user = User.objects.filter(account=account, email=email).first()
    if user is None:  # the aliases are email identifiers: directory's (`hooks.user_login_alias`)
        user = next(filter(None, hooks.user_login_alias(account=account, email=email)), None)
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
            hooks.user_created(user=user, proven_by_token=True)  # directory: the email identifier
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
    hooks.user_created(user=user, proven_by_token=False)  # directory: the email identifier
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
    forget_cached_user(user)
    user.delete()
    hooks.user_deleted(account_id=user.account_id)  # calendars_app: the calendars nobody links any more


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


# -- webhook endpoints ------------------------------------------------------------------------

def _new_webhook_secret() -> str:
    """`whsec_` + base64 of 24 random bytes, the Standard Webhooks secret format."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _validate_webhook_fields(fields: dict) -> None:
    if "events" in fields:
        events = list(dict.fromkeys(fields["events"])) or ["*"]
        unknown = [name for name in events if name != "*" and name not in EventType.values]
        if unknown:
            known = ", ".join(EventType.values)
            raise ValidationFailed(f"Unknown event type {unknown[0]}; known: *, {known}", error_code="unknown_event_type",
                                   details={"events": [f"Unknown event types {', '.join(unknown)}; known: *, {known}"]})
        fields["events"] = ["*"] if "*" in events else events
    if "url" in fields:
        try:
            url_check(fields["url"])
        except AddressRefused as exc:
            raise BadRequest(f"url refused: {exc}", error_code="webhook_url_refused",
                             details={"url": [str(exc)]}) from None


@transaction.atomic
def webhook_create(*, account: Account, url: str, events: list[str] | None = None, description: str = "",
                   enabled: bool = True) -> Webhook:
    """Register an endpoint. The URL is checked (scheme, and unless TSKR_WEBHOOKS_ALLOW_PRIVATE, that it
    resolves to public addresses only); it is checked again at every connection."""
    fields = {"url": url, "events": events if events is not None else ["*"]}
    _validate_webhook_fields(fields)
    return Webhook.objects.create(account=account, description=description, enabled=enabled,
                                  secret=_new_webhook_secret(), **fields)


@transaction.atomic
def webhook_update(*, webhook: Webhook, **fields) -> Webhook:
    """Change url, events, description or enabled. Enabling again clears why it was disabled."""
    _validate_webhook_fields(fields)
    if fields.get("enabled") and not webhook.enabled:
        webhook.disabled_reason, webhook.failing_since = "", None
    return model_update(webhook, fields)


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    """Delete the endpoint with its delivery log; the account's events stay."""
    webhook.delete()


@transaction.atomic
def webhook_rotate_secret(*, webhook: Webhook) -> Webhook:
    """A new secret; the old one keeps signing too for TSKR_WEBHOOK_SECRET_OVERLAP_HOURS."""
    webhook.previous_secret, webhook.secret = webhook.secret, _new_webhook_secret()
    webhook.previous_secret_expires_at = timezone.now() + timedelta(hours=settings.TSKR_WEBHOOK_SECRET_OVERLAP_HOURS)
    webhook.save()
    return webhook


def webhook_test(*, webhook: Webhook) -> WebhookDelivery:
    """Send a `webhook.test` event to this endpoint now (even a disabled one) and answer the attempt.

    The event goes to this endpoint only, so it is written directly as dispatched rather than emitted to
    every endpoint. Not one transaction: the HTTP request must not hold one open.
    """
    from .delivery import delivery_attempt

    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.create(account_id=webhook.account_id, type=EventType.WEBHOOK_TEST, dispatched_at=now,
                                     data={"webhookId": webhook.id, "message": "A test event sent from TSKR"})
        delivery = WebhookDelivery.objects.create(account_id=webhook.account_id, webhook=webhook, event=event,
                                                  next_attempt_at=now)
    return delivery_attempt(delivery_id=delivery.id, account_id=webhook.account_id, force=True) or delivery


def _enqueue_deliveries(deliveries: list[WebhookDelivery]) -> None:
    if deliveries:
        deliver_on_commit(account_id=deliveries[0].account_id, delivery_ids=[delivery.id for delivery in deliveries])


@transaction.atomic
def webhook_replay(*, webhook: Webhook, since: datetime) -> int:
    """Send the account's events since `since` (within retention) that this endpoint subscribes to, again,
    as new deliveries with the events' own ids. Answers how many were queued."""
    events = Event.objects.filter(account_id=webhook.account_id, created_at__gte=since).exclude(
        type=EventType.WEBHOOK_TEST).order_by("created_at").only("id", "type")
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(account_id=webhook.account_id, webhook=webhook, event_id=event.id, next_attempt_at=now)
        for event in events if webhook.receives(event.type))
    _enqueue_deliveries(deliveries)
    return len(deliveries)


@transaction.atomic
def webhook_delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a failed delivery for one more attempt now."""
    if delivery.status != WebhookDelivery.Status.FAILED:
        raise Conflict("Only a failed delivery can be retried", error_code="delivery_not_failed")
    delivery.status, delivery.next_attempt_at, delivery.claimed_until = WebhookDelivery.Status.PENDING, timezone.now(), None
    delivery.save(update_fields=["status", "next_attempt_at", "claimed_until"])
    _enqueue_deliveries([delivery])
    return delivery
