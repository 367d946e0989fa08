"""Personas of the catalog: the catalog is platform-wide, so the outsiders are callers who are not super admins."""
import pytest

from tskr.testing import make_caller


@pytest.fixture
def ops(db):
    """A super admin: a @skej.com email on a token signed by a staff account's certificate."""
    return make_caller("Skej", "ops@skej.com", staff=True)


@pytest.fixture
def eve(db):
    """A @skej.com email on a customer (non-staff) account's certificate: not a super admin."""
    return make_caller("Customer", "eve@skej.com")


@pytest.fixture
def staff_outsider(ops):
    """A staff account's certificate with a non-super-admin email domain: not a super admin either."""
    return ops.teammate("contractor@example.com")

