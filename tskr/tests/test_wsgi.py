import json
import os
import subprocess
import sys

from django.conf import settings


def test_a_worker_loads_every_route_at_start_and_freezes_what_it_loaded():
    probe = ("import gc, json, sys; import tskr.wsgi; "
             "print(json.dumps({'frozen': gc.get_freeze_count(), 'views': 'conversations.api.views' in sys.modules}))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=settings.BASE_DIR, capture_output=True, text=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tskr.settings"}, timeout=60, check=True)
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["views"] is True
    assert loaded["frozen"] > 10_000
