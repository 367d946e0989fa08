"""Reads for the directory. Memories and contacts are per user; identifiers are account-wide."""
from django.db.models import Case, QuerySet, When

from accounts.models import Account, User

from .models import Contact, IdentifierPreferences, Memory, UserIdentifier
from .preferences import skill_view


class PageIdsFirstQuerySet(QuerySet):
    """A queryset whose offset slices pick the page's ids first: `WHERE id IN (SELECT id ... OFFSET n)`.

    A deep page (offset 10,000) would otherwise read and discard 10,000 whole rows; the inner query
    only needs the ordering index (an index-only scan when the index covers filter and order), and
    the outer one fetches the 20 rows of the page. Still one query; the first page is sliced as usual.
    """

    def __getitem__(self, k):
        if not isinstance(k, slice) or not k.start or k.step is not None or self.query.is_sliced:
            return super().__getitem__(k)
        return self.filter(pk__in=QuerySet.__getitem__(self.values("pk"), k))


def user_by_login_alias(*, account: Account, email: str) -> User | None:
    """The user an email identifier proven by a signed token (`proven_by_token`) belongs to, or None.
    Identifiers a client created are not followed: that would let one user capture another's login.
    Answers accounts' `user_login_alias` hook."""
    return User.objects.filter(account=account, identifiers__type=UserIdentifier.Type.EMAIL,
                               identifiers__value=email, identifiers__proven_by_token=True).first()


def memory_list(*, queryset: QuerySet[Memory]) -> QuerySet[Memory]:
    """One user's memories (`queryset`, already scoped), newest first (index `memory_user_newest_first`).
    Deep pages pick ids first when `queryset` is a `PageIdsFirstQuerySet` (the API's)."""
    return queryset.order_by("-created_at", "-id")


def contact_list(*, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
    """One user's contacts (`queryset`, already scoped), newest first."""
    return queryset.order_by("-created_at", "-id")


def identifier_list(*, queryset: QuerySet[UserIdentifier]) -> QuerySet[UserIdentifier]:
    """Identifiers of one account (`queryset`, already scoped), oldest first, their user joined in."""
    return queryset.select_related("user").order_by("created_at", "id")


def preferences_get(*, identifier: UserIdentifier) -> IdentifierPreferences | None:
    """What is stored for an identifier, or None when nothing was ever set (defaults apply)."""
    return IdentifierPreferences.objects.filter(user_identifier=identifier).first()


def user_preferences(*, user: User, skill: str) -> dict:
    """`preferences.<skill>` of a user as the assistant applies them: those of their primary identifier, an
    email one first (the rule availability follows), with the defaults merged in. One query."""
    stored = (IdentifierPreferences.objects.filter(user_identifier__user=user, user_identifier__primary=True)
              .order_by(Case(When(user_identifier__type=UserIdentifier.Type.EMAIL, then=0), default=1))
              .values_list("data", flat=True).first())
    return skill_view(stored or {}, skill)
