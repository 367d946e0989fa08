"""Strict environment parsing: a malformed value stops start-up instead of being guessed at."""
import json
import os
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int_list(name: str, default: list[int], *, minimum: int | None = None) -> list[int]:
    """A comma-separated list of integers, e.g. a retry schedule in seconds."""
    items = env_list(name, [str(value) for value in default])
    try:
        values = [int(item) for item in items]
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be comma-separated integers, got {os.environ.get(name)!r}") from None
    if minimum is not None and any(value < minimum for value in values):
        raise ImproperlyConfigured(f"{name} values must be at least {minimum}, got {values}")
    return values


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default).lower() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def database_from_url(url: str, *, base_dir) -> dict:
    """Turn a `postgres://` or `sqlite:///` URL into a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        # sqlite:///relative.db -> "/relative.db"; sqlite:////abs/path.db -> "//abs/path.db"
        if path.startswith("//"):
            path = path[1:]
        elif path.startswith("/"):
            path = str(base_dir / path[1:])
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path or str(base_dir / "db.sqlite3")}
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        host = unquote(parsed.hostname or "") if parsed.hostname else options.pop("host", "")
        name = unquote(parsed.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL must name a database")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": host,
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(f"DATABASE_URL must start with postgres:// or sqlite:///, got {parsed.scheme!r}")


PRICE_FIELDS = ("input", "output", "cacheWrite", "cacheRead")


def env_model_prices(name: str, default: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """A JSON price table, `{"<model>": {"input", "output", "cacheWrite", "cacheRead"}}` in USD per million
    tokens, merged over `default` (so pricing another model keeps the default's entry)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return {model: dict(prices) for model, prices in default.items()}
    try:
        table = json.loads(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be JSON, got {raw!r}") from None
    if not isinstance(table, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object of model -> prices")
    merged = {model: dict(prices) for model, prices in default.items()}
    for model, prices in table.items():
        if (not isinstance(prices, dict) or set(prices) != set(PRICE_FIELDS)
                or not all(isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
                           for value in prices.values())):
            raise ImproperlyConfigured(f"{name}[{model!r}] must have exactly {', '.join(PRICE_FIELDS)}, "
                                       "each a number >= 0 (USD per million tokens)")
        merged[model] = {field: float(prices[field]) for field in PRICE_FIELDS}
    return merged
