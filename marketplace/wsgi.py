"""WSGI entry point (gunicorn marketplace.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
application = get_wsgi_application()

# The search's word dictionary (jieba, about 0.7 s) is loaded as the process starts, not in a buyer's first
# search. Imported after the application: the settings are loaded by then.
from marketplace.process import start_up_done  # noqa: E402
from marketplace.search.tokens import warm_up  # noqa: E402

warm_up()
start_up_done()
