"""The shared Redis connection (the one behind the cache), for locks and counters."""
from django.conf import settings
from django_redis import get_redis_connection


def get_redis():
    if not settings.REDIS_URL:
        raise RuntimeError("REDIS_URL is not set; callers must use their in-process fallback")
    return get_redis_connection("default")
