"""The marketplace's one settings module: everything comes from the environment (12-factor).

With no environment at all it runs the *embedded default*: SQLite under ``var/``, media under
``var/media``, a local-memory cache and Celery tasks executed eagerly (no broker). With
``DJANGO_ENV=production`` it refuses to start without a secret key and hosts, and passes
``manage.py check --deploy``.
"""

import datetime
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _
from oscar.defaults import *  # noqa: F403  (Oscar's documented way to take its defaults)

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    # A development-only key: production refuses to start without SECRET_KEY (see above).
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-used-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ----------------------------------------------------------------------------
# Oscar's apps, with the ones we customise swapped for our forks under marketplace/.
_OSCAR_FORKS = {
    "oscar.config.Shop": "marketplace.config.Shop",  # Oscar's dashboard unmounted (marketplace/config.py)
    "oscar.apps.catalogue.apps.CatalogueConfig": "marketplace.catalogue.apps.CatalogueConfig",
    "oscar.apps.partner.apps.PartnerConfig": "marketplace.partner.apps.PartnerConfig",
    "oscar.apps.search.apps.SearchConfig": "marketplace.search.apps.SearchConfig",
    "oscar.apps.order.apps.OrderConfig": "marketplace.order.apps.OrderConfig",
    "oscar.apps.checkout.apps.CheckoutConfig": "marketplace.checkout.apps.CheckoutConfig",
    "oscar.apps.basket.apps.BasketConfig": "marketplace.basket.apps.BasketConfig",
    "oscar.apps.shipping.apps.ShippingConfig": "marketplace.shipping.apps.ShippingConfig",
    "oscar.apps.customer.apps.CustomerConfig": "marketplace.customer.apps.CustomerConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig": "marketplace.wishlists.apps.WishlistsConfig",
    # Not an Oscar app but in Oscar's list: the admin, on a site that takes hand-made requests as form
    # errors (marketplace/admin_site.py).
    "django.contrib.admin": "marketplace.admin_config.MarketplaceAdminConfig",
}
from oscar import INSTALLED_APPS as _OSCAR_APPS  # noqa: E402

INSTALLED_APPS = [
    "marketplace.storefront",  # first, so its templates override Oscar's
    *[_OSCAR_FORKS.get(app, app) for app in _OSCAR_APPS],
    "sorl.thumbnail",
    "marketplace.places",
    "marketplace.outbox",
    "marketplace.ledger",
    "marketplace.payments",
    "shops.association",
    "shops.settlement",
    "shops.sales",
    "shops.orchard",
    "shops.harvest",
    "shops",
    "logistics",
    "fixtures",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "csp",
]

SITE_ID = 1

MIDDLEWARE = [
    # Before everything: /healthz and /readyz (marketplace/health.py), with no session, CSRF, locale, host
    # check or throttling.
    "marketplace.health.HealthProbeMiddleware",
    # First: the visitor's address, for everything after (lockouts, rate limits), when behind our proxies.
    "marketplace.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before everything that may render a page (lockouts, 429s): request.csp_nonce is set here.
    "marketplace.csp.SiteWidePolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "marketplace.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CsrfViewMiddleware, which reads the form: a body too large for its view is refused unread.
    "marketplace.middleware.RequestBodyLimitMiddleware",
    # After the body limit (it reads the form): a NUL in the request is a 400, a 20-digit URL id a 404.
    "marketplace.request_checks.HostileInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "marketplace.basket.middleware.BasketMiddleware",  # Oscar's, offers applied only when there are any
    # Throttling (marketplace/security.py): rate-limited posts answer 429; locked-out sign-ins their page.
    "django_ratelimit.middleware.RatelimitMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last: whole storefront pages for cookieless visitors (marketplace/storefront/page_cache.py); a stored
    # page still goes out through every middleware above.
    "marketplace.storefront.page_cache.AnonymousPageCacheMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "marketplace" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
                "marketplace.storefront.context_processors.storefront_cache",
            ],
        },
    },
]
# Plain-text e-mails: rendered without HTML escaping (a shop called "桃&源" is not "桃&amp;源" in a mail).
TEMPLATES.append(
    {
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": TEMPLATES[0]["DIRS"],
        "APP_DIRS": True,
        "OPTIONS": {"autoescape": False},
    }
)
if not DEBUG:
    # Cached template loading: templates are parsed once per process.
    for _engine in TEMPLATES:
        _engine["APP_DIRS"] = False
        _engine["OPTIONS"]["loaders"] = [
            (
                "django.template.loaders.cached.Loader",
                [
                    "django.template.loaders.filesystem.Loader",
                    "django.template.loaders.app_directories.Loader",
                ],
            )
        ]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out sign-in before any password is checked (django-axes).
    "marketplace.security.LockoutBackend",
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Data -------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The sales review's buyer chains carry INCLUDE columns for PostgreSQL's index-only scans; SQLite
    # ignores them (the index still works), which Django warns about on every command.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
    # The embedded default needs no server, only its folder.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the demo server read while a command writes; a busy timeout instead of "database is locked".
    # IMMEDIATE: a transaction takes the write lock when it begins, so one that reads and then writes
    # (stock allocation, the outbox) waits its turn; a deferred one that read first could not upgrade
    # once another process had written, and failed at once with "database is locked", timeout or not.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Off by default (runserver makes a thread per request, so nothing would be reused); gunicorn on SQLite
    # (the storefront benchmark) keeps its connection like production's PostgreSQL does.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    # A database that does not answer fails a request (and /readyz) in seconds instead of hanging it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5)
    )
    # Parameters bound by PostgreSQL, not spliced into the SQL text by psycopg, and a statement this
    # connection has run DB_PREPARE_THRESHOLD times prepared once and then only executed: PostgreSQL stops
    # parsing and planning the same ORM statements again and again (docs/performance.md, "50 buyers,
    # fourth look": PostgreSQL's CPU for a checkout's pages about halved). Behind pgbouncer nothing is
    # prepared (below). A migration that changes a column's type makes the web and worker processes'
    # prepared statements of that table fail until they restart: deploy restarts them after migrating.
    if env.bool("DB_SERVER_SIDE_BINDING", default=True):
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault(
            "prepare_threshold", env.int("DB_PREPARE_THRESHOLD", default=5) or None
        )
# Behind pgbouncer in transaction mode (DATABASE_POOLER=transaction), consecutive transactions of one
# Django connection may run on different server connections, so nothing may outlive a transaction:
# no server-side cursors (iterator() outside atomic() declares a cursor WITH HOLD, fetched across
# transactions) and no prepared statements (Django leaves psycopg's prepare_threshold at None; pinned here
# so that no OPTIONS override makes psycopg prepare a query on a server connection the next one lacks).
# Django's connection stays open to pgbouncer (CONN_MAX_AGE): an idle client connection holds no server
# connection there, and reconnecting per request would cost a connect and an authentication each time;
# health checks replace a connection that a pgbouncer restart broke (docs/operations.md, "Connection
# pooling").
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER and (
    DATABASE_POOLER != "transaction" or "postgresql" not in DATABASES["default"]["ENGINE"]
):
    raise ValueError(f"DATABASE_POOLER={DATABASE_POOLER!r}: only 'transaction' (pgbouncer), on PostgreSQL")
if DATABASE_POOLER:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://marketplace")}
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # Room for every product's thumbnail entry and the storefront's fragments (default is 300).
    CACHES["default"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = 50_000
elif CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A cache outage makes pages slower, never an error (marketplace/cache.py).
    CACHES["default"]["BACKEND"] = "marketplace.cache.ForgivingRedisCache"
# The storefront's fragments and whole pages (Django's {% cache %} tag takes this alias by name): kept in
# this process's memory first, then in the default cache; every such key carries the catalogue version
# (marketplace/cache.py, LocalFirstCache).
CACHES["template_fragments"] = {
    "BACKEND": "marketplace.cache.LocalFirstCache",
    "TIMEOUT": 300,
    "OPTIONS": {"SHARED": "default", "MAX_ENTRIES": 5000},
}
# /readyz checks the database, the cache and the broker (if any); checks named here are reported but do not
# make it 503 (e.g. "cache,broker" where the site should stay in rotation on the database alone).
READYZ_OPTIONAL = env.list("READYZ_OPTIONAL", default=[])
# How long a rendered storefront fragment may live; any catalogue change invalidates it sooner.
STOREFRONT_CACHE_SECONDS = env.int("STOREFRONT_CACHE_SECONDS", default=300)
# Each process keeps its own copy of the catalogue version, kept current through a Redis channel, instead of
# reading it from the shared cache on every request (marketplace/cache.py, WatchedKey): read again at least
# every half of this many seconds; 0 reads it per request. Only with a Redis CACHE_URL.
STOREFRONT_VERSION_WATCH_SECONDS = env.float("STOREFRONT_VERSION_WATCH_SECONDS", default=5.0)
# Product cards kept as HTML in the database and read by list pages (marketplace/storefront/cards.py); off,
# every card is drawn on every page that shows it (the benchmark's "bare" state measures that).
STOREFRONT_CARD_STORE = env.bool("STOREFRONT_CARD_STORE", default=True)
# A catalogue change picks again only the kept lists its products, categories and shops can reach
# (marketplace/storefront/lists_moved.py); one naming more products than this picks every list again.
LISTS_MOVED_PRODUCTS_MAX = env.int("LISTS_MOVED_PRODUCTS_MAX", default=500)
# A search's first page kept (marketplace/search/picks.py): after a catalogue change, those read in the last
# SEARCH_PICK_DAYS days are kept, the SEARCH_PICKS_KEPT most recently read, the rest forgotten; of those, the
# ones the change can reach are picked again (two queries each: ~8 ms at 2,000 products, ~160 ms for a
# common word at 100,000, on the worker).
SEARCH_PICK_DAYS = env.int("SEARCH_PICK_DAYS", default=7)
SEARCH_PICKS_KEPT = env.int("SEARCH_PICKS_KEPT", default=10)
# Anonymous product views are counted in memory and written in batches (marketplace/storefront/analytics.py).
ANALYTICS_VIEW_BATCH = env.int("ANALYTICS_VIEW_BATCH", default=200)
ANALYTICS_VIEW_SECONDS = env.int("ANALYTICS_VIEW_SECONDS", default=60)

# --- Celery -----------------------------------------------------------------------------------
# No broker configured → tasks run eagerly in-process (the embedded default); set
# CELERY_BROKER_URL=redis://127.0.0.1:6379/0 to run them on workers.
_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Eager tasks never touch the broker; the in-memory transport keeps kombu from looking for one.
CELERY_BROKER_URL = _BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not _BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Every task is acked when it ends, not when it starts, and goes back on the queue when the process
# running it dies (SIGKILL, OOM): tasks are idempotent, so a second run changes nothing.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# The relay must learn fast that the broker is down (its rows then wait), not hang in a retry loop.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless this is set; then only
# every 2 × this many tasks. A worker keeps its connection as a web process does instead
# (marketplace/celery.py applies CONN_MAX_AGE and replaces a broken one around each task).
CELERY_DB_REUSE_MAX = 100_000
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="marketplace")
CELERY_TIMEZONE = "Asia/Shanghai"
# Stock held for an order that is never paid goes back on sale after this long (run by Celery beat).
CHECKOUT_HOLD_MINUTES = env.int("CHECKOUT_HOLD_MINUTES", default=30)
# --- The transactional outbox (marketplace/outbox) ---------------------------------------------
# Without a broker (the embedded default) the follow-ups are delivered in-process right after commit.
OUTBOX_DELIVER_ON_COMMIT = env.bool("OUTBOX_DELIVER_ON_COMMIT", default=CELERY_TASK_ALWAYS_EAGER)
# A published row not done after this long is published again (the broker may have lost it).
OUTBOX_REDELIVER_SECONDS = env.int("OUTBOX_REDELIVER_SECONDS", default=120)
# Rows the relay hands to one Celery task (delivered one after another by a worker): a task's own cost is
# paid once for them, while a few tasks at once keep every worker process busy.
OUTBOX_PUBLISH_BATCH = env.int("OUTBOX_PUBLISH_BATCH", default=6)
# A subscriber that handles many events at once (``subscribe(run_many=…)``: routing, sales facts, harvest
# draws, purchase counts) takes, with a task's rows, up to this many more of its rows still waiting.
OUTBOX_DELIVER_TOGETHER = env.int("OUTBOX_DELIVER_TOGETHER", default=50)
# A failed run is tried again after this, doubling each time (at most an hour), up to OUTBOX_MAX_FAILURES.
OUTBOX_RETRY_SECONDS = env.int("OUTBOX_RETRY_SECONDS", default=10)
OUTBOX_MAX_FAILURES = env.int("OUTBOX_MAX_FAILURES", default=12)
OUTBOX_KEEP_DONE_DAYS = env.int("OUTBOX_KEEP_DONE_DAYS", default=7)
CELERY_BEAT_SCHEDULE = {
    # The relay process publishes within a second; this catches up if it is not running.
    "outbox-relay": {"task": "outbox.relay", "schedule": 30.0},
    "outbox-forget-done": {"task": "outbox.forget_done", "schedule": crontab(hour=4, minute=0)},
    "release-unpaid-orders": {"task": "checkout.orders_unpaid_release", "schedule": 300.0},
    # Refunds Stripe left pending (they count in sales and settlement only once they succeed).
    "sync-pending-refunds": {"task": "payments.refunds_pending_sync", "schedule": 3600.0},
    # Paid shop orders whose routing task was lost, or that need routing now partners have room again.
    "route-stuck-consignments": {"task": "logistics.consignments_stuck_route", "schedule": 900.0},
    "flag-overdue-legs": {"task": "logistics.legs_overdue_flag", "schedule": 3600.0},
    # Capacity is booked per partner and day, so each day starts empty; old day rows are forgotten nightly.
    "forget-old-day-loads": {"task": "logistics.day_loads_forget", "schedule": crontab(hour=0, minute=10)},
    # Last month's settlement statements (drafts for the association to check and issue), on the 2nd.
    "generate-statements": {
        "task": "settlement.statements_generate",
        "schedule": crontab(day_of_month=2, hour=3, minute=0),
    },
    # Sales facts follow the events; nightly, yesterday's and today's are recomputed in case one was lost.
    "refresh-recent-sales-facts": {
        "task": "sales.facts_refresh_recent",
        "schedule": crontab(hour=0, minute=30),
    },
    # The console's form tokens (shops/console/once.py) older than 30 days.
    "forget-old-form-tokens": {
        "task": "shops.form_submissions_forget",
        "schedule": crontab(hour=3, minute=50),
    },
    # Raw orchard sensor readings older than ORCHARD_READINGS_KEEP_DAYS; their roll-ups stay.
    "forget-old-orchard-readings": {
        "task": "orchard.readings_forget",
        "schedule": crontab(hour=3, minute=40),
    },
}

# --- Throttling (marketplace/security.py) ------------------------------------------------------
# Five wrong passwords in a row for one account from one address lock that pair for 15 minutes (a
# lock on the account alone would let anyone lock a farmer out). Staff unlock in the admin (Axes → access
# attempts: delete the row) or with `manage.py axes_reset_username <email>`.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "security/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "marketplace.security.axes_username"
# The visitor's address is REMOTE_ADDR, never a header the visitor could set: behind a reverse proxy, have
# it pass the client's address as the peer (gunicorn --forwarded-allow-ips with the proxy's address).
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
RATELIMIT_VIEW = "marketplace.security.rate_limited"
# A form refused by the CSRF check (expired page, cookies blocked): our page, in the visitor's language.
CSRF_FAILURE_VIEW = "marketplace.security.csrf_failure"
RATELIMIT_IP_META_KEY = "REMOTE_ADDR"
# The site's own reverse proxies (addresses or networks, comma-separated): from these peers only, the
# visitor's address is read from X-Forwarded-For (marketplace.middleware.ClientAddressMiddleware).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploads that are personal data (shop applications' licence photos): outside MEDIA_ROOT, never served
# by the web server, only through the association's workspace.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Object storage (django-storages, the S3 API), for more than one machine: MEDIA_STORAGE=s3 keeps media
# (product photos and their renditions, shop covers) in AWS_STORAGE_BUCKET_NAME, which buyers read by its
# public URL (or MEDIA_CUSTOM_DOMAIN, a CDN), and private files (applications' licence photos) in
# AWS_PRIVATE_BUCKET_NAME, which has no public access: the workspace's view still serves them to members.
# Production: Alibaba Cloud OSS through its S3-compatible endpoint (docs/operations.md, "Object storage").
# Keys come from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
MEDIA_ORIGINS: list[str] = []  # origins outside our own that media is served from (CSP img-src)
if MEDIA_STORAGE == "s3":
    _S3_OPTIONS = {
        "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("S3_REGION_NAME", default="") or None,
        # OSS takes virtual-hosted addresses only (bucket.oss-cn-….aliyuncs.com); moto and MinIO take both.
        "addressing_style": env.str("S3_ADDRESSING_STYLE", default="") or None,
        "signature_version": "s3v4",
        "file_overwrite": False,  # two uploads with one name keep both, as on the file system
    }
    _MEDIA_BUCKET = env.str("AWS_STORAGE_BUCKET_NAME")
    _MEDIA_DOMAIN = env.str("MEDIA_CUSTOM_DOMAIN", default="") or None
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_S3_OPTIONS,
            "bucket_name": _MEDIA_BUCKET,
            "custom_domain": _MEDIA_DOMAIN,
            "querystring_auth": False,  # public: plain URLs that pages and the CDN can cache
            "object_parameters": {"CacheControl": "public, max-age=31536000"},  # names never change
        },
    }
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_S3_OPTIONS,
            "bucket_name": env.str("AWS_PRIVATE_BUCKET_NAME"),
            "location": "applications",  # objects take the bucket's own (private) access: no ACL is sent
            # Nothing links to these, but a URL made by mistake is signed and short-lived, never public.
            "querystring_auth": True,
            "querystring_expire": 300,
        },
    }
    if _MEDIA_DOMAIN:
        MEDIA_ORIGINS = [f"https://{_MEDIA_DOMAIN}"]
    elif _S3_OPTIONS["endpoint_url"]:
        _endpoint = urlsplit(_S3_OPTIONS["endpoint_url"])
        _host = _endpoint.netloc
        if _S3_OPTIONS["addressing_style"] == "virtual":
            _host = f"{_MEDIA_BUCKET}.{_host}"
        MEDIA_ORIGINS = [f"{_endpoint.scheme}://{_host}"]
    else:
        MEDIA_ORIGINS = [f"https://{_MEDIA_BUCKET}.s3.amazonaws.com"]
elif MEDIA_STORAGE != "filesystem":
    raise ValueError(f"MEDIA_STORAGE={MEDIA_STORAGE!r}: 'filesystem' (the default) or 's3'")
# Request bodies (marketplace.middleware.RequestBodyLimitMiddleware): 4 MB for every view, more only for
# the upload views, by URL name. The reverse proxy caps at the largest (docs/operations.md, "Request sizes").
_MB = 1024 * 1024
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=4 * _MB)
REQUEST_BODY_LIMITS = {
    # The console's uploader sends one photo per request (PHOTO_MAX_UPLOAD_BYTES, 15 MB, and the form).
    "console:photo-upload": 16 * _MB,
    # An application's farm and licence photos, all in one form (each at most 10 MB; 25 MB together).
    "admission:apply": 25 * _MB,
    "admission:status": 25 * _MB,
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# sorl-thumbnail keeps its key-value store in the cache first, the database second.
THUMBNAIL_KVSTORE = "sorl.thumbnail.kvstores.cached_db_kvstore.KVStore"
THUMBNAIL_PRESERVE_FORMAT = False
THUMBNAIL_FORMAT = "JPEG"
THUMBNAIL_QUALITY = 82

# --- Product photos uploaded by farmers (shops/photos.py) -------------------------------------------
PHOTO_MAX_UPLOAD_BYTES = env.int("PHOTO_MAX_UPLOAD_BYTES", default=15 * 1024 * 1024)
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=40_000_000)  # larger is treated as a bomb
PHOTO_ORIGINAL_MAX_SIDE = 2560  # the stored original is bounded to this long side
PHOTO_MAX_PER_PRODUCT = 12
# Drawn by a Celery task after the upload commits: list cards, the product page, the zoom view.
PHOTO_RENDITIONS = {"list": "400x400", "page": "800x800", "zoom": "1600x1600"}

# --- Orchard sensors over MQTT (shops/orchard/ingest.py, manage.py orchard_ingest) -----------------------
ORCHARD_MQTT_BROKER = env.str("ORCHARD_MQTT_BROKER", default="127.0.0.1:1883")
# The ingester's fixed client id: with a persistent session the broker keeps what arrives while it is down.
ORCHARD_MQTT_CLIENT_ID = env.str("ORCHARD_MQTT_CLIENT_ID", default="marketplace-orchard-ingest")
# Raw readings are kept a season and a bit, then deleted nightly (roll-ups stay); a reading older than
# this is refused as too late, one further ahead of the clock than the skew as too early.
ORCHARD_READINGS_KEEP_DAYS = env.int("ORCHARD_READINGS_KEEP_DAYS", default=400)
ORCHARD_CLOCK_SKEW_SECONDS = env.int("ORCHARD_CLOCK_SKEW_SECONDS", default=300)
# After a rotation the previous secret still verifies this long (readings the device buffered).
ORCHARD_SECRET_GRACE_HOURS = env.int("ORCHARD_SECRET_GRACE_HOURS", default=24)

# --- Logistics routing (logistics/routing.py) ------------------------------------------------------
# Candidates are scored cost × w_cost + promised days × w_days + load share × w_load; the lowest wins.
LOGISTICS_ROUTING_POLICY = {
    "cost": env.float("LOGISTICS_WEIGHT_COST", default=1.0),
    "days": env.float("LOGISTICS_WEIGHT_DAYS", default=5.0),
    "load": env.float("LOGISTICS_WEIGHT_LOAD", default=10.0),
}

# --- Partner webhooks (logistics/webhooks.py) --------------------------------------------------------
# New legs and their status moves are POSTed to a partner's webhook_url through the outbox. An address
# that resolves to a private, loopback or link-local network is refused unless this allows it (development
# and the tests post to 127.0.0.1; production must not be made to call into its own network).
LOGISTICS_WEBHOOK_ALLOW_PRIVATE = env.bool("LOGISTICS_WEBHOOK_ALLOW_PRIVATE", default=not PRODUCTION)
LOGISTICS_WEBHOOK_TIMEOUT_SECONDS = env.float("LOGISTICS_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Attempts before a delivery is marked failed; the outbox backs off between them (OUTBOX_RETRY_SECONDS,
# doubling). Kept below OUTBOX_MAX_FAILURES, so the delivery, not the outbox, is the one that gives up.
LOGISTICS_WEBHOOK_MAX_ATTEMPTS = min(
    env.int("LOGISTICS_WEBHOOK_MAX_ATTEMPTS", default=8), OUTBOX_MAX_FAILURES
)

# --- Partner API (logistics/api/) -------------------------------------------------------------------
# No authentication by default: the partner API's views name their own (partner tokens), nothing else in
# the project is a DRF view. JSON only in production; the browsable renderer helps during development.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *([] if PRODUCTION else ["rest_framework.renderers.BrowsableAPIRenderer"]),
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # drf-spectacular's AutoSchema, documenting every error answer of the partner API as well.
    "DEFAULT_SCHEMA_CLASS": "logistics.api.schema.PartnerAPISchema",
    "DEFAULT_THROTTLE_RATES": {
        "logistics_partner": env.str("LOGISTICS_API_RATE", default="600/min"),
        # Requests without a working token, per client address (REMOTE_ADDR), before it is refused
        # without its token being looked up: token guessing (logistics/api/authentication.py).
        "logistics_failed_auth": env.str("LOGISTICS_API_FAILED_AUTH_RATE", default="30/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Xiangwei Market logistics API",
    "DESCRIPTION": (
        "For logistics partners: the legs booked on you, accepting or rejecting them, and the tracking "
        "events of each parcel. Send `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "LegKindEnum": "logistics.models.Leg.Kind",
        "LegStatusEnum": "logistics.models.Leg.Status",
        "TrackingEventKindEnum": "logistics.models.TrackingEvent.Kind",
    },
}

# --- Oscar ------------------------------------------------------------------------------------
OSCAR_SHOP_NAME = _("Xiangwei Market")
OSCAR_SHOP_TAGLINE = _("Village produce, straight from the farm")
OSCAR_HOMEPAGE = "/"
# Oscar's classes, with the few this project replaces outside the apps it forks (marketplace/classes.py).
OSCAR_DYNAMIC_CLASS_LOADER = "marketplace.classes.class_loader"
# Reviews: only signed-in buyers may write one, and each waits for a moderator (the admin's product
# reviews) before it is shown: anonymous reviews published at once were a spam and defamation channel.
OSCAR_ALLOW_ANON_REVIEWS = False
OSCAR_MODERATE_REVIEWS = True
# After signing in without a "next": farmers to their shop console, buyers to their account.
LOGIN_REDIRECT_URL = "/shop/welcome/"
LOGIN_URL = "/accounts/login/"
OSCAR_DEFAULT_CURRENCY = "CNY"
# "¥" written out: Babel's English symbol for CNY is "CN¥", and buyers read ¥ in both languages.
OSCAR_CURRENCY_FORMAT = {"CNY": {"format": "¥#,##0.00", "currency_digits": True}}
OSCAR_PRODUCTS_PER_PAGE = 24
OSCAR_ALLOW_ANON_CHECKOUT = True
OSCAR_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@xiangwei.example")
OSCAR_MISSING_IMAGE_URL = "image_not_found.jpg"
# Product URLs keep Chinese slugs readable when a product has no English name.
OSCAR_SLUG_ALLOW_UNICODE = True
# Haystack is a hard dependency of Oscar but we do not index through it: search and browse are our
# own database queries (see docs/architecture.md), so no signal processor runs on saves.
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}
HAYSTACK_SIGNAL_PROCESSOR = "haystack.signals.BaseSignalProcessor"

# --- Email ------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.filebased.EmailBackend"
    if not PRODUCTION
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = Path(env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail")))
if PRODUCTION:
    vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = OSCAR_FROM_EMAIL

# --- Payments (used from the checkout issue on) -----------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_localstripe")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_localstripe")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_localstripe")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:8420")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="http://127.0.0.1:8420/js.stripe.com/v3/")
# WeChat Pay (supports CNY) is offered beside cards when switched on.
STRIPE_WECHAT_PAY = env.bool("STRIPE_WECHAT_PAY", default=False)
# A Stripe call inside one of our database transactions (which may hold row locks while Stripe answers):
# "raise" in development and tests, so the suite catches it; "log" in production.
STRIPE_IN_TRANSACTION = env.str("STRIPE_IN_TRANSACTION", default="log" if PRODUCTION else "raise")
# Settlement: the percentage of each sale's shipping charge the association pays the carrier for the shop
# (deducted on its statement as "shipping subsidy"); empty = none.
SETTLEMENT_SHIPPING_SUBSIDY = env.str("SETTLEMENT_SHIPPING_SUBSIDY", default="") or None

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp; docs/architecture.md, "Content-Security-Policy").
# Scripts: files from our own origin, or inline with the response's nonce (request.csp_nonce); no inline
# event handlers, no javascript: URLs, no eval. Stripe.js's origins are added only on the pages that load
# it (marketplace/csp.py). Styles may be inline ('unsafe-inline', which a nonce would switch off): Oscar's
# basket templates and the Django admin put style attributes in their markup, the console's sales chart
# sizes its bars with them, the 500 page inlines its CSS (it renders without a request, so without a
# nonce); and with images, fonts and connections held to our origin, injected CSS cannot send anything out.
# connect-src and frame-src are written out so that the Stripe pages' additions extend 'self'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        # data: for Bootstrap's icons and the WeChat Pay QR code; with MEDIA_STORAGE=s3 the bucket or its CDN.
        "img-src": [SELF, "data:", *MEDIA_ORIGINS],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    OSCAR_BASKET_COOKIE_SECURE = True
    OSCAR_RECENTLY_VIEWED_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
