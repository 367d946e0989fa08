import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tskr.settings")

app = Celery("tskr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["tskr"])
