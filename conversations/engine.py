"""The assistant engine: which implementation is configured (the conversations issue grows this)."""
from django.conf import settings


def engine_status() -> dict:
    """For /health: the configured engine, and for Anthropic whether it is configured at all."""
    if settings.TSKR_AI_ENGINE == "anthropic":
        if not settings.ANTHROPIC_API_KEY:
            raise RuntimeError("ANTHROPIC_API_KEY is not set")
        return {"engine": "anthropic", "model": settings.ANTHROPIC_MODEL}
    return {"engine": "local"}
