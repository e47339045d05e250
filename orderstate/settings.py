"""Settings for orderstate, read from the environment (see README, "Settings")."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from orderstate.env import (
    env_bool,
    env_dates,
    env_int,
    env_list,
    env_rate,
    env_str,
    env_time,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

_DEV_SECRET = "insecure-dev-only-key-do-not-use-in-production"
# A local install (`make run`, `make serve`) generates a random key here once
# (git-ignored), so every later `manage.py` command in the checkout finds it without
# DEBUG. Production sets SECRET_KEY or SECRET_KEY_FILE and never has this file.
LOCAL_SECRET_KEY_FILE = Path(
    env_str("ORDERSTATE_LOCAL_SECRET_FILE") or BASE_DIR / "var" / "secret_key"
)


def _local_secret_key():
    try:
        return LOCAL_SECRET_KEY_FILE.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


SECRET_KEY = env_str("SECRET_KEY") or _local_secret_key() or (_DEV_SECRET if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is required when DEBUG is off (or set SECRET_KEY_FILE; `make run` "
        f"writes a local one to {LOCAL_SECRET_KEY_FILE})."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "orderstate.apps.OrderStateConfig",
    "dashboard.apps.DashboardConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "orderstate.ops.middleware.RequestCountMiddleware",
    "csp.middleware.CSPMiddleware",
    "orderstate.ops.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "orderstate.urls"
WSGI_APPLICATION = "orderstate.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url, conn_max_age):
    """One database from a URL, tuned per engine (see DESIGN.md, "Settings")."""
    config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue on the busy timeout instead of deadlocking on
        # a lock upgrade ("database is locked").
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file test database, so threads and a live test server share one database.
        config["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        pool_size = env_int("DATABASE_POOL_SIZE", 0)
        if pool_size:
            config["CONN_MAX_AGE"] = 0
            config["OPTIONS"] = {"pool": {"min_size": 1, "max_size": pool_size, "timeout": 10}}
    return config


CONN_MAX_AGE = env_int("CONN_MAX_AGE", 60)
DATABASES = {
    "default": _database(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}", CONN_MAX_AGE
    )
}
# The event feed's listener thread (orderstate/event_feed/listener.py) holds one
# connection per process of its own while requests long-poll: outside the pool,
# never lent to a request. In tests it is the default database.
DATABASES["event_listener"] = {
    **DATABASES["default"],
    "CONN_MAX_AGE": None,
    "OPTIONS": {
        name: value
        for name, value in DATABASES["default"].get("OPTIONS", {}).items()
        if name != "pool"
    },
    "TEST": {"MIRROR": "default"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-in"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orderstate.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "orderstate.api.throttling.TokenRateThrottle",
        "orderstate.api.throttling.SessionUserRateThrottle",
        "orderstate.api.throttling.AnonymousRateThrottle",
    ],
    # Short windows keep DRF's per-client history small, and a burst from one bot
    # is slowed within a second. Counts are per process (see README).
    "DEFAULT_THROTTLE_RATES": {
        "token": env_rate("API_THROTTLE_TOKEN_RATE", "500/s"),
        "user": env_rate("API_THROTTLE_USER_RATE", "50/s"),
        "anon": env_rate("API_THROTTLE_ANON_RATE", "60/min"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "orderstate API",
    "DESCRIPTION": "Single source of truth for a trading bot's orders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# REST API: JSON errors from every view; Swagger UI from vendored files, no CDN.
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "orderstate.api.exceptions.handle_exception"
SPECTACULAR_SETTINGS |= {
    "SWAGGER_UI_DIST": f"/{STATIC_URL}vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": f"/{STATIC_URL}vendor/swagger-ui/favicon-32x32.png",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Orders and events both have a `source`, with different choices.
    "ENUM_NAME_OVERRIDES": {"EventSourceEnum": "orderstate.models.events.EventSource"},
}

# Trading calendar (orderstate/market.py): weekdays that are not NSE holidays in the
# `holidays` package, corrected by hand for closures announced after its release and
# for special sessions (docs/settings.md).
MARKET_OPEN = env_time("ORDERSTATE_MARKET_OPEN", "09:15")
ORDERSTATE_EXTRA_HOLIDAYS = env_dates("ORDERSTATE_EXTRA_HOLIDAYS")
ORDERSTATE_EXTRA_TRADING_DAYS = env_dates("ORDERSTATE_EXTRA_TRADING_DAYS")
_OPEN_AND_CLOSED = ORDERSTATE_EXTRA_HOLIDAYS & ORDERSTATE_EXTRA_TRADING_DAYS
if _OPEN_AND_CLOSED:
    raise ImproperlyConfigured(
        "ORDERSTATE_EXTRA_HOLIDAYS and ORDERSTATE_EXTRA_TRADING_DAYS both name "
        f"{', '.join(sorted(map(str, _OPEN_AND_CLOSED)))}; a day is either closed or open"
    )

# The event feed (docs/api.md, "Events"): long polls one process lets wait at once
# (gunicorn.conf.py sets it from the thread count, keeping threads for other
# requests), and how often the listener looks for new events on SQLite.
ORDERSTATE_EVENT_WAITERS = env_int("ORDERSTATE_EVENT_WAITERS", 12, minimum=0)
ORDERSTATE_EVENT_POLL_SECONDS = env_int("ORDERSTATE_EVENT_POLL_MS", 50, minimum=1) / 1000

# Broker.
ORDERSTATE_BROKER = env_str("ORDERSTATE_BROKER", "paper")
ORDERSTATE_DEFAULT_ACCOUNT = env_str("ORDERSTATE_DEFAULT_ACCOUNT", "default")
ORDERSTATE_MISSING_THRESHOLD = env_int("ORDERSTATE_MISSING_THRESHOLD", 3)
ORDERSTATE_SYNC_STALE_SECONDS = env_int("ORDERSTATE_SYNC_STALE_SECONDS", 300)
# Orders a sync changes per transaction (a savepoint each): fewer commits, and
# row locks held for one batch only.
ORDERSTATE_SYNC_BATCH_SIZE = env_int("ORDERSTATE_SYNC_BATCH_SIZE", 100, minimum=1)
ORDERSTATE_REPLAY_FILE = env_str("ORDERSTATE_REPLAY_FILE", "")
ORDERSTATE_PAPER_SEED = env_int("ORDERSTATE_PAPER_SEED", 7)
ORDERSTATE_LOCK_TTL_SECONDS = env_int("ORDERSTATE_LOCK_TTL_SECONDS", 900)
# "Sync now" hands a request to the running `sync_broker --loop`; one not picked up this
# long is closed as failed. A refused broker login makes the loop wait this long.
ORDERSTATE_SYNC_REQUEST_TIMEOUT = env_int("ORDERSTATE_SYNC_REQUEST_TIMEOUT", 300, minimum=1)
ORDERSTATE_LOGIN_REFUSED_BACKOFF = env_int("ORDERSTATE_LOGIN_REFUSED_BACKOFF", 1800, minimum=1)

# Notifications (orderstate/notify, docs/settings.md#notifications): retries back off
# from BACKOFF (0: retry at the next pass) doubling up to BACKOFF_MAX, until a message
# is MAX_AGE old and is given up as dead.
ORDERSTATE_NOTIFY_BACKOFF_SECONDS = env_int("ORDERSTATE_NOTIFY_BACKOFF_SECONDS", 5, minimum=0)
ORDERSTATE_NOTIFY_BACKOFF_MAX_SECONDS = env_int(
    "ORDERSTATE_NOTIFY_BACKOFF_MAX_SECONDS", 600, minimum=0
)
ORDERSTATE_NOTIFY_MAX_AGE_SECONDS = env_int("ORDERSTATE_NOTIFY_MAX_AGE_SECONDS", 86400, minimum=1)
ORDERSTATE_NOTIFY_TIMEOUT_SECONDS = env_int("ORDERSTATE_NOTIFY_TIMEOUT_SECONDS", 10, minimum=1)
ORDERSTATE_NOTIFY_CONCURRENCY = env_int("ORDERSTATE_NOTIFY_CONCURRENCY", 8, minimum=1)
ORDERSTATE_NOTIFY_BACKLOG_ALERT_SECONDS = env_int(
    "ORDERSTATE_NOTIFY_BACKLOG_ALERT_SECONDS", 900, minimum=1
)
ORDERSTATE_NOTIFY_KEEP_DAYS = env_int("ORDERSTATE_NOTIFY_KEEP_DAYS", 7, minimum=1)
TELEGRAM_API_BASE = env_str("TELEGRAM_API_BASE", "https://api.telegram.org").rstrip("/")

# The order feed (`stream_orders`; docs/broker-sync.md, "Real time: the order feed").
# The stream writes its status row at most every STATUS seconds (and renews its lock
# as often); a row older than STALE seconds is a stream that is gone.
ORDERSTATE_FEED_STATUS_SECONDS = env_int("ORDERSTATE_FEED_STATUS_SECONDS", 2, minimum=1)
ORDERSTATE_FEED_STALE_SECONDS = env_int("ORDERSTATE_FEED_STALE_SECONDS", 30, minimum=1)
ORDERSTATE_FEED_LOCK_TTL_SECONDS = env_int("ORDERSTATE_FEED_LOCK_TTL_SECONDS", 30, minimum=1)
ORDERSTATE_FEED_RECONNECT_SECONDS = env_int("ORDERSTATE_FEED_RECONNECT_SECONDS", 1, minimum=1)
ORDERSTATE_FEED_RECONNECT_MAX_SECONDS = env_int(
    "ORDERSTATE_FEED_RECONNECT_MAX_SECONDS", 60, minimum=1
)
ORDERSTATE_FEED_ACK_SECONDS = env_int("ORDERSTATE_FEED_ACK_SECONDS", 10, minimum=1)
ORDERSTATE_FEED_PRICE_WAIT_SECONDS = env_int("ORDERSTATE_FEED_PRICE_WAIT_SECONDS", 5, minimum=1)
ORDERSTATE_PAPER_STEP_SECONDS = env_int("ORDERSTATE_PAPER_STEP_SECONDS", 2, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs each request's URL at INFO, and a Telegram URL holds the bot token.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Production hardening (README, "Running in production"). HTTPS=true says the site
# is served over TLS and turns on secure cookies, the HTTPS redirect and HSTS; each
# can still be set on its own. Off by default so `make serve` works over plain HTTP.
HTTPS = env_bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=HTTPS)
# Only behind a proxy that sets this header itself (e.g. X-Forwarded-Proto);
# trusting it otherwise lets any client claim HTTPS.
if env_str("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + env_str("SECURE_PROXY_SSL_HEADER").upper().replace("-", "_"),
        "https",
    )
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy (django-csp): scripts and styles come only from our static
# files (htmx is vendored there). JSON answers carry none, as a browser renders no page
# from them; /api/docs/ relaxes style-src (orderstate/api/urls.py).
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ("/api/v1/", "/api/schema/", "/healthz", "/metrics"),
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Values of environment variables named like secrets are masked in every log line.
LOGGING["filters"] = {
    "mask_secrets": {"()": "orderstate.ops.log_redaction.MaskSecretsFilter"},
    "client_error_as_warning": {"()": "orderstate.ops.log_levels.ClientErrorAsWarning"},
}
LOGGING["handlers"]["console"]["filters"] = ["mask_secrets"]
# A body too large is the client's mistake: one warning line, no traceback.
LOGGING["loggers"]["django.security.RequestDataTooBig"] = {"filters": ["client_error_as_warning"]}

# Log-in lockout (django-axes, orderstate/auth/lockout.py), counted in the database so
# it holds across workers and hosts: a (username, address) pair after LOGIN_MAX_FAILURES
# failures, an address after LOGIN_MAX_FAILURES_PER_IP for any usernames; failures count
# for LOGIN_LOCKOUT_SECONDS, and a lock ends that long after the last one.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_MAX_FAILURES_PER_IP = env_int("LOGIN_MAX_FAILURES_PER_IP", 20, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
# Behind a proxy, the header holding the client address (e.g. X-Forwarded-For); the
# right-most entry, the one the proxy appended, is used. Set it only behind a proxy
# that appends to it: otherwise every client names its own address.
LOGIN_CLIENT_IP_HEADER = env_str("LOGIN_CLIENT_IP_HEADER", "")
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "orderstate.auth.lockout.PairOrFloodHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_LOCKOUT_SECONDS)
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "orderstate.auth.lockout.username"
AXES_CLIENT_IP_CALLABLE = "orderstate.auth.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "orderstate.auth.lockout.lockout_response"
