"""What the bench's gunicorn serves: /__bench/raw/... to the bare psycopg callable (baseline a),
everything else (the API and the Django baselines under /__bench/) to Django with bench.settings."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from tskr.wsgi import application as django_application  # noqa: E402

from . import raw  # noqa: E402


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/__bench/raw/"):
        return raw.application(environ, start_response)
    return django_application(environ, start_response)
