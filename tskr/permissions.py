from rest_framework.permissions import BasePermission

from .exceptions import Forbidden


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


class ManagementOrReadOnly(IsAccountMember):
    """Account settings: any token of the account reads them; changing them needs a management token
    (403 `management_token_required`), since a delegated token acts for one user, not the account."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.user.is_delegated:
            raise Forbidden("Changing this needs a management token (a JWT without an email claim)",
                            error_code="management_token_required")
        return True
