"""The Celery application. Tasks are thin: they load by id and call a service.

Database connections in a worker live like a web request's: Django's own rule (``CONN_MAX_AGE``, a
connection that failed is checked and replaced) is applied before and after every task. Celery's Django
fixup would otherwise close the connection around every task, so each outbox delivery opened a new
PostgreSQL session: a backend started and its caches warmed per task, 160 ms of database CPU per checkout
in the checkout benchmark (docs/performance.md, "Checkout under load"). ``CELERY_DB_REUSE_MAX`` (settings)
turns that closing off; the handlers below put Django's rule in its place.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def connections_tidy(*args: Any, **kwargs: Any) -> None:
    """Close a connection that is too old or broke in the last task, as Django does around a request;
    keep the others. Not for eager tasks: they run inside the caller's request or transaction."""
    task = kwargs.get("task") or kwargs.get("sender")
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    close_old_connections()
