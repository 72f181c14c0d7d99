"""The marketplace project: settings, URLs, the Celery app, the storefront and the Oscar apps we fork."""

from marketplace.celery import app as celery_app

__all__ = ["celery_app"]
