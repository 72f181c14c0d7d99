"""The marketplace's own settings, plus a URL configuration that adds the benchmark's ceiling view."""

from marketplace.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
