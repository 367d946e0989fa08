from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account (always), the user (delegated tokens only), and the certificate.

    Stands in for `request.user`; `user` is the account's `accounts.User` or None for management tokens.
    """

    account: object
    certificate_id: str
    user: object = None
    is_super_admin: bool = False
    is_authenticated: bool = True

    @property
    def account_id(self) -> str:
        return self.account.id

    @property
    def is_delegated(self) -> bool:
        return self.user is not None
