from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..exceptions import Forbidden


class IsAccountMember(BasePermission):
    """Any verified token of the account: management (no email) or delegated (email)."""

    def has_permission(self, request, view):
        return bool(request.user and getattr(request.user, "is_authenticated", False))


class IsDelegated(IsAccountMember):
    """Delegated APIs need a user: a management token is refused with 403 `user_context_required`."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if not request.user.is_delegated:
            raise Forbidden("This endpoint needs a delegated token (a JWT with an email claim)",
                            error_code="user_context_required")
        return True


class IsSuperAdmin(IsAccountMember):
    """Super admin: a delegated token whose email domain is in TSKR_SUPER_ADMIN_DOMAINS,
    signed with a certificate of a staff account. Either condition alone is not enough."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if not request.user.is_super_admin:
            raise Forbidden("This endpoint needs super admin privileges", error_code="super_admin_required")
        return True


class IsManagement(IsAccountMember):
    """Management-only APIs: the account's own token; a delegated token, which acts as its own user,
    is refused with 403 `management_token_required`."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.user.is_delegated and self.needs_management(request):
            raise Forbidden("This needs a management token (a JWT without an email claim)",
                            error_code="management_token_required")
        return True

    def needs_management(self, request) -> bool:
        return True


class ManagementWrites(IsManagement):
    """Users and assistants: reads take either token kind; writes (POST, PUT, PATCH, DELETE) act for
    the account and need a management token."""

    def needs_management(self, request) -> bool:
        return request.method not in SAFE_METHODS


def ensure_identifier_owner(principal, owner_id: str | None) -> None:
    """A delegated token acts as its own user: it may create or change only identifiers of that user
    (`owner_id`, None for an unlinked one), else 403 `identifier_not_owned`; a management token acts for
    the whole account. Reads stay account-wide."""
    if principal.is_delegated and owner_id != principal.user.id:
        raise Forbidden("A delegated token may create or change only its own user's identifiers; use a "
                        "management token for another user's", error_code="identifier_not_owned")
