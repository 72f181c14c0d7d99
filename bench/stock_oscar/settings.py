"""Settings for stock django-oscar 4.2.1, the peer bench/oscar_peer.py measures the marketplace against.

Oscar's own apps (none forked), templates, context processors and middleware, set up as Oscar's "Building
your own shop" documents and its sandbox (sandbox/settings.py in django-oscar's repository) runs them, on
a SQLite database of its own (``STOCK_OSCAR_DB``), with media in ``STOCK_OSCAR_MEDIA_ROOT`` (both default
to var/bench/stock-oscar-2000/). bench/oscar_peer.py builds the catalogue and serves it with gunicorn;
nothing of the marketplace is imported.

What the sandbox does, and what is done here:

- *Apps, middleware, context processors, authentication backends*: the sandbox's, in its order. Its
  middleware includes WhiteNoise, ``ConditionalGetMiddleware`` (an ETag hashed from every page) and the
  flat-page fallback (404s only). Not installed: ``easy_thumbnails`` (the sandbox installs it but Oscar
  draws thumbnails with sorl-thumbnail unless ``OSCAR_THUMBNAILER`` says otherwise; it is not in the venv)
  and ``django.contrib.sitemaps`` (only for the sandbox's sitemap URLs).
- *Debug*: the sandbox defaults to ``DEBUG=True``; here it is off. The sandbox's settings install no
  debug toolbar (they only set ``INTERNAL_IPS``), so there is none to turn off.
- *Templates*: the sandbox lists its template loaders (file system, app directories) explicitly, and a
  list of loaders replaces Django's default, the cached loader: every template is read and compiled again
  on every request. Here the loaders are left unset, so Django caches compiled templates, as it does by
  default and as the marketplace's benchmark server does (bench/storefront.py). This favours stock Oscar:
  in-process, its product page took 23 ms of CPU with the sandbox's loaders and 10.5 ms with these.
  ``STOCK_OSCAR_TEMPLATES=sandbox`` (bench/oscar_peer.py ``--sandbox-templates``) lists the sandbox's
  loaders instead.
- *Database*: SQLite, as the sandbox, but without its ``ATOMIC_REQUESTS`` (which Oscar's documentation
  recommends): a product page adds one to the product's view count (the analytics app) inside the
  request's transaction after reading, and SQLite cannot turn a read transaction into a write one once
  the other worker has written since: the write fails at once with "database is locked", whatever the
  busy timeout (10 of about 350 product pages in a first trial). Without it the count is a statement of
  its own, which waits its turn; the marketplace runs without ``ATOMIC_REQUESTS`` too. The
  connection options are the marketplace's SQLite ones (write-ahead log, ``synchronous=NORMAL``, a 20 s
  busy timeout) and connections are kept 60 s, as bench/storefront.py runs the marketplace; the sandbox
  sets none of them (Django's rollback journal, a new connection per request).
- *Cache, sessions, thumbnails*: local memory (the sandbox's default), database sessions (Django's
  default) and sorl-thumbnail with its cached-database key-value store (the sandbox's and sorl's default).
- *Search*: the sandbox uses Whoosh (not installed); this uses Haystack's simple backend, which Oscar's
  documentation gives for basic search. It has no index: a search reads every matching product from the
  products table (all of them, not only the page shown), and it cannot filter: Oscar 4.2 draws category
  pages through Haystack too, and under the simple backend a category page lists no products at all (it
  is the page's frame, breadcrumbs and an empty result; bench/oscar_peer.py prints how many products
  each page lists). Haystack's default signal processor (the sandbox's real-time one keeps Whoosh's index
  current; the simple backend has none to keep).
- *Analytics*: installed, as in the sandbox and the documentation: every product page adds one to the
  product's view count in the database.
- *Static files*: the sandbox stores them with WhiteNoise's compressed manifest storage, which needs
  ``collectstatic``; here Django's plain storage, as the marketplace's benchmark server has. The benchmark
  loads only the HTML, never a static file.
- *Language, currency, time zone*: the marketplace's (``zh-hans`` and English, CNY, Asia/Shanghai) instead
  of the sandbox's British English and 21 languages under language-prefixed URLs; Oscar's URLs are
  included without a prefix, as its documentation shows.
- *Logging*: warnings and errors to the console (the gunicorn log), as the marketplace's benchmark server
  logs; the sandbox logs Oscar at debug level.
- *Order pipeline, anonymous checkout*: the sandbox's settings for them cost no page anything; left out.
"""

import os
from pathlib import Path

from oscar.defaults import *  # noqa: F403

REPO = Path(__file__).resolve().parent.parent.parent
VAR_DIR = REPO / "var" / "bench" / "stock-oscar-2000"

DEBUG = False
ALLOWED_HOSTS = ["*"]
SECRET_KEY = os.environ.get("STOCK_OSCAR_SECRET_KEY", "stock-oscar-bench-only-not-a-secret")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    # The third-party apps Oscar depends on.
    "widget_tweaks",
    "haystack",
    "treebeard",
    "sorl.thumbnail",
    "django_tables2",
]
SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.common.CommonMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
]

ROOT_URLCONF = "bench.stock_oscar.urls"

# STOCK_OSCAR_TEMPLATES=sandbox: the sandbox's own loaders, templates compiled again on every request.
SANDBOX_TEMPLATES = os.environ.get("STOCK_OSCAR_TEMPLATES", "") == "sandbox"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        # No "loaders": Django then wraps the app-directories loader in its cached loader (see above).
        "APP_DIRS": not SANDBOX_TEMPLATES,
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.request",
                "django.template.context_processors.debug",
                "django.template.context_processors.i18n",
                "django.template.context_processors.media",
                "django.template.context_processors.static",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.core.context_processors.metadata",
            ],
            "debug": False,
            **(
                {
                    "loaders": [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                    ]
                }
                if SANDBOX_TEMPLATES
                else {}
            ),
        },
    }
]

AUTHENTICATION_BACKENDS = [
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("STOCK_OSCAR_DB", str(VAR_DIR / "db.sqlite3")),
        "ATOMIC_REQUESTS": False,  # the sandbox's True fails product pages on SQLite (see above)
        "CONN_MAX_AGE": 60,
        "OPTIONS": {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

OSCAR_DEFAULT_CURRENCY = "CNY"

MEDIA_URL = "/media/"
MEDIA_ROOT = os.environ.get("STOCK_OSCAR_MEDIA_ROOT", str(VAR_DIR / "media"))
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("STOCK_OSCAR_STATIC_ROOT", str(VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

THUMBNAIL_DEBUG = False
THUMBNAIL_KVSTORE = "sorl.thumbnail.kvstores.cached_db_kvstore.KVStore"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
