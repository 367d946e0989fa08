"""Signing tokens the way an integrator does: used by `mint_token`, the demo set-up and the tests."""
import time

import jwt


def mint_token(*, kid: str, private_key_pem: str, email: str | None = None, first_name: str = "",
               last_name: str = "", ttl: int = 3600, **extra_claims) -> str:
    now = int(time.time())
    claims = {"iat": now, "exp": now + ttl, **extra_claims}
    if email:
        claims["email"] = email
        if first_name:
            claims["firstName"] = first_name
        if last_name:
            claims["lastName"] = last_name
    return jwt.encode(claims, private_key_pem, algorithm="RS256", headers={"kid": kid})
