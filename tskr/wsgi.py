"""The WSGI application (gunicorn: `tskr.wsgi:application`), loaded once per worker process."""
import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tskr.settings")
application = get_wsgi_application()


def _settle() -> None:
    """Load the URLconf (and with it every view and serializer) now instead of on the first request,
    then take everything loaded so far out of the garbage collector's reach: these objects live as
    long as the process, and each full collection walking them paused a worker, far less once
    frozen (figures: bench/README.md, "Measurements behind the code")."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # imports every app's URLs, views and serializers
    gc.collect()
    gc.freeze()


_settle()
