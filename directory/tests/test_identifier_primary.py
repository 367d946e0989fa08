"""make-primary: only a verified address becomes the login email, and concurrent primary changes and
deletions of one user's identifiers queue on the user's row instead of deadlocking."""
import pytest

from accounts.models import User
from directory.models import UserIdentifier
from directory.services import identifier_delete, identifier_make_primary, identifier_update
from tskr.exceptions import ApplicationError
from tskr.testing import run_together


def _email(caller, value, **fields):
    return UserIdentifier.objects.create(account=caller.account, user=caller.user, type="email", value=value,
                                         **fields)


def test_make_primary_needs_a_verified_identifier(alice):
    unverified = _email(alice, "a2@acme.test")
    for response in (alice.client.post(f"/identifiers/{unverified.id}/make-primary"),
                     alice.client.put(f"/identifiers/{unverified.id}", {"primary": True}),
                     alice.client.post("/identifiers", {"type": "email", "value": "a3@acme.test", "primary": True})):
        assert response.status_code == 400 and response.json()["error_code"] == "identifier_not_verified"
    assert User.objects.get(id=alice.user.id).email == "alice@acme.test"
    assert not UserIdentifier.objects.filter(value="a3@acme.test").exists()
    # verified in the same request is enough
    assert alice.client.put(f"/identifiers/{unverified.id}", {"verified": True, "primary": True}).status_code == 200
    assert User.objects.get(id=alice.user.id).email == "a2@acme.test"


@pytest.mark.django_db(transaction=True)
def test_concurrent_make_primary_and_delete_calls_on_one_user_do_not_deadlock(alice):
    """Each call locks the user's row first, then identifiers: before, make-primary locked the identifier
    first and then demoted the current primary, which a concurrent make-primary of that one held."""
    addresses = [_email(alice, f"a{n}@acme.test", verified=True) for n in range(3)]
    original = UserIdentifier.objects.get(user=alice.user, value="alice@acme.test")
    everyone = [original, *addresses]
    for round_number in range(4):
        current = UserIdentifier.objects.get(user=alice.user, type="email", primary=True)
        others = [identifier for identifier in everyone if identifier.id != current.id]
        outcomes = run_together(lambda: identifier_make_primary(identifier=current),
                                lambda: identifier_make_primary(identifier=others[round_number % 3]),
                                lambda: identifier_update(identifier=others[(round_number + 1) % 3], primary=True),
                                lambda: identifier_make_primary(identifier=current))
        assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
        primary, = UserIdentifier.objects.filter(user=alice.user, type="email", primary=True)
        assert User.objects.get(id=alice.user.id).email == primary.value
    spare = _email(alice, "spare@acme.test", verified=True)
    current = UserIdentifier.objects.get(user=alice.user, type="email", primary=True)
    outcomes = run_together(lambda: identifier_delete(identifier=spare),
                            lambda: identifier_make_primary(identifier=spare),
                            lambda: identifier_make_primary(identifier=current))
    # whichever runs first decides; the others answer errors of ours (409s), never a database error
    assert all(isinstance(outcome, (UserIdentifier, ApplicationError)) or outcome is None for outcome in outcomes), \
        outcomes
