"""TSKR settings. Every value comes from the environment; see the README's configuration table.

With nothing set the project runs on its embedded defaults: SQLite, an in-process cache and
locks, and Celery tasks executed eagerly. Production differs from development only by environment.
"""
import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .infra.env import (
    database_from_url, env_bool, env_choice, env_int, env_int_list, env_list, env_model_prices, env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("TSKR_DEBUG", True)

SECRET_KEY = env_str("TSKR_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("TSKR_SECRET_KEY must be set when TSKR_DEBUG is off")
    SECRET_KEY = "tskr-development-only-secret-key-never-use-in-production"

ALLOWED_HOSTS = env_list("TSKR_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("TSKR_ALLOWED_HOSTS must list the API's host names when TSKR_DEBUG is off")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # For its one model, IdempotencyKey (shared plumbing: every write of every app may carry a key).
    "tskr",
    "accounts",
    "directory",
    "conversations",
    "tasks_app",
    "calendars_app",
    "admin_catalog",
]

MIDDLEWARE = [
    "tskr.api.middleware.SecurityHeadersMiddleware",
    "tskr.api.middleware.JsonErrorMiddleware",
    "tskr.api.middleware.BodySizeLimitMiddleware",
    "tskr.infra.ratelimit.RateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the staff screens' and Swagger UI's) from the application itself, under gunicorn too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, CSRF, Django authentication and messages serve the staff screens (/staff/) only.
    "tskr.api.middleware.StaffSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "tskr.api.middleware.StaffCsrfViewMiddleware",
    "tskr.api.middleware.StaffAuthenticationMiddleware",
    "tskr.api.middleware.StaffMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tskr.urls"
# The API is token-authenticated and CSRF-exempt (DRF); only /staff/ uses sessions. A CSRF failure
# there still answers in the error envelope rather than Django's HTML page.
CSRF_FAILURE_VIEW = "tskr.urls.csrf_failure"
WSGI_APPLICATION = "tskr.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
_database = database_from_url(DATABASE_URL or "sqlite:///db.sqlite3", base_dir=BASE_DIR)
# Persistent connections with a health check: a restarted PostgreSQL is reconnected to by itself.
_database["CONN_MAX_AGE"] = env_int("TSKR_DB_CONN_MAX_AGE", 60, minimum=0)
_database["CONN_HEALTH_CHECKS"] = True
if _database["ENGINE"] == "django.db.backends.postgresql":
    _database["OPTIONS"].setdefault("connect_timeout", env_int("TSKR_DB_CONNECT_TIMEOUT", 3, minimum=1))
    # Server-side binding lets psycopg prepare a statement once a connection has run it 5 times: the
    # hot paths' statements are then never planned again (planning was most of their cost). Off behind
    # a transaction-mode pooler that cannot keep prepared statements (PgBouncer before 1.21).
    if env_bool("TSKR_DB_PREPARED_STATEMENTS", True):
        _database["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)
else:
    # BEGIN IMMEDIATE: concurrent writers queue for the lock instead of failing a read-to-write upgrade.
    _database["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
_test_database_name = env_str("TSKR_TEST_DATABASE_NAME")
if _test_database_name:
    _database["TEST"] = {"NAME": _test_database_name}
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    # A file, as in the quick start, rather than Django's shared in-memory default: there, concurrent
    # writers fail at once ("table is locked") instead of waiting on the busy timeout as they do on a file.
    _database["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"tskr-test-{os.getpid()}.sqlite3")}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, locks, rate limits, Celery broker ----------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tskr",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                "CONNECTION_POOL_KWARGS": {"retry_on_timeout": False, "health_check_interval": 30},
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tskr"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = env_str("TSKR_CELERY_QUEUE", "tskr")

# --- Authentication and API policy ---------------------------------------------------------
TSKR_JWT_AUDIENCE = env_str("TSKR_JWT_AUDIENCE")
TSKR_JWT_LEEWAY_SECONDS = env_int("TSKR_JWT_LEEWAY_SECONDS", 60, minimum=0)
TSKR_JWT_MAX_LIFETIME_SECONDS = env_int("TSKR_JWT_MAX_LIFETIME_SECONDS", 24 * 3600, minimum=60)
# How long a server process trusts its copy of a certificate: the bound on revocation delay.
TSKR_CERTIFICATE_CACHE_SECONDS = env_int("TSKR_CERTIFICATE_CACHE_SECONDS", 5, minimum=0)
TSKR_SUPER_ADMIN_DOMAINS = [d.lower() for d in env_list("TSKR_SUPER_ADMIN_DOMAINS", ["skej.com"])]
TSKR_RATE_LIMIT_PER_MINUTE = env_int("TSKR_RATE_LIMIT_PER_MINUTE", 1000, minimum=1)
# How long an Idempotency-Key and its stored response are kept: a retry within it is answered, not re-run.
TSKR_IDEMPOTENCY_TTL_HOURS = env_int("TSKR_IDEMPOTENCY_TTL_HOURS", 24, minimum=1)
TSKR_MAX_BODY_BYTES = env_int("TSKR_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = TSKR_MAX_BODY_BYTES
# Largest free-form object (`metadata`, `templateContext`, a message's file entry), serialized.
TSKR_MAX_METADATA_BYTES = env_int("TSKR_MAX_METADATA_BYTES", 16 * 1024, minimum=256)

# --- AI engine ------------------------------------------------------------------------------
ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY")
ANTHROPIC_BASE_URL = env_str("ANTHROPIC_BASE_URL")
ANTHROPIC_MODEL = env_str("ANTHROPIC_MODEL", "claude-sonnet-4-5")
TSKR_AI_ENGINE = env_choice("TSKR_AI_ENGINE", "anthropic" if ANTHROPIC_API_KEY else "local", {"anthropic", "local"})
TSKR_AI_TIMEOUT_SECONDS = env_int("TSKR_AI_TIMEOUT_SECONDS", 20, minimum=1)
TSKR_AI_MAX_RETRIES = env_int("TSKR_AI_MAX_RETRIES", 1, minimum=0)
# GET /usage's estimatedCost, USD per million tokens by model (Anthropic's list prices for the default
# model; cache writes at the 5-minute rate). A model missing from the table is counted at zero cost.
TSKR_MODEL_PRICES = env_model_prices("TSKR_MODEL_PRICES", {
    "claude-sonnet-4-5": {"input": 3.0, "output": 15.0, "cacheWrite": 3.75, "cacheRead": 0.30},
})
#: A streamed `POST /chats/:id/process` writes a `: ping` comment after this many seconds without an event.
TSKR_STREAM_PING_SECONDS = env_int("TSKR_STREAM_PING_SECONDS", 15, minimum=1)

# --- OAuth providers and resource sync (calendars_app) ---------------------------------------
GOOGLE_OAUTH_CLIENT_ID = env_str("GOOGLE_OAUTH_CLIENT_ID")
GOOGLE_OAUTH_CLIENT_SECRET = env_str("GOOGLE_OAUTH_CLIENT_SECRET")
GOOGLE_OAUTH_AUTHORIZE_URL = env_str("GOOGLE_OAUTH_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_OAUTH_TOKEN_URL = env_str("GOOGLE_OAUTH_TOKEN_URL", "https://oauth2.googleapis.com/token")
GOOGLE_OAUTH_REVOKE_URL = env_str("GOOGLE_OAUTH_REVOKE_URL", "https://oauth2.googleapis.com/revoke")
GOOGLE_CALENDAR_API_URL = env_str("GOOGLE_CALENDAR_API_URL", "https://www.googleapis.com/calendar/v3")
GOOGLE_PEOPLE_API_URL = env_str("GOOGLE_PEOPLE_API_URL", "https://people.googleapis.com/v1")
MICROSOFT_OAUTH_CLIENT_ID = env_str("MICROSOFT_OAUTH_CLIENT_ID")
MICROSOFT_OAUTH_CLIENT_SECRET = env_str("MICROSOFT_OAUTH_CLIENT_SECRET")
MICROSOFT_OAUTH_AUTHORIZE_URL = env_str("MICROSOFT_OAUTH_AUTHORIZE_URL",
                                        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize")
MICROSOFT_OAUTH_TOKEN_URL = env_str("MICROSOFT_OAUTH_TOKEN_URL",
                                    "https://login.microsoftonline.com/common/oauth2/v2.0/token")
MICROSOFT_GRAPH_API_URL = env_str("MICROSOFT_GRAPH_API_URL", "https://graph.microsoft.com/v1.0")
# Where providers send the browser back after consent: <TSKR_PUBLIC_URL>/oauth/<platform>/callback
TSKR_PUBLIC_URL = env_str("TSKR_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Strict-Transport-Security max-age, sent when TSKR_PUBLIC_URL is https (0: never sent).
TSKR_HSTS_SECONDS = env_int("TSKR_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
TSKR_SYNC_MODE = env_choice("TSKR_SYNC_MODE", "queue" if REDIS_URL else "inline", {"inline", "queue"})
TSKR_SYNC_INTERVAL_MINUTES = env_int("TSKR_SYNC_INTERVAL_MINUTES", 30, minimum=1)
# One sync per identifier at a time: the lock is renewed before every provider request, so this only
# bounds how long a crashed worker's lock blocks the retry.
TSKR_SYNC_LOCK_SECONDS = env_int("TSKR_SYNC_LOCK_SECONDS", 120, minimum=1)
# The window of event occurrences kept per calendar (recurring series expanded inside it), in days
# before and after now; it moves forward with a full round once a day.
TSKR_SYNC_EVENTS_PAST_DAYS = env_int("TSKR_SYNC_EVENTS_PAST_DAYS", 7, minimum=0)
TSKR_SYNC_EVENTS_FUTURE_DAYS = env_int("TSKR_SYNC_EVENTS_FUTURE_DAYS", 180, minimum=1)
# Booking writes to Google Calendar / Outlook: how long one provider call may take before the request
# answers 502 calendar_provider_error (the meeting stays pending), and how old a pending meeting must be
# before the periodic sweep finishes it (so the sweep does not race a request still writing).
TSKR_BOOKING_PROVIDER_TIMEOUT_SECONDS = env_int("TSKR_BOOKING_PROVIDER_TIMEOUT_SECONDS", 10, minimum=1)
TSKR_BOOKING_SWEEP_AFTER_SECONDS = env_int("TSKR_BOOKING_SWEEP_AFTER_SECONDS", 60, minimum=0)
# How often the dispatcher looks for scheduled actions (reminders, follow-ups) that fell due.
TSKR_DISPATCH_INTERVAL_SECONDS = env_int("TSKR_DISPATCH_INTERVAL_SECONDS", 2, minimum=1)
#: The scheduling agent proposes no time sooner than this after it runs (its default window starts here).
TSKR_AGENT_MINIMUM_NOTICE_MINUTES = env_int("TSKR_AGENT_MINIMUM_NOTICE_MINUTES", 120, minimum=0)
CELERY_BEAT_SCHEDULE = {
    # expires: a pass still queued when the next is due is dropped rather than piled up behind busy workers
    "tasks-dispatch-due-actions": {"task": "tasks_app.dispatch_due_actions", "schedule": TSKR_DISPATCH_INTERVAL_SECONDS,
                                   "options": {"expires": TSKR_DISPATCH_INTERVAL_SECONDS}},
    "tasks-plan-meeting-reminders": {"task": "tasks_app.plan_meeting_reminders", "schedule": 15 * 60},
    "tasks-meetings-finish-pending": {"task": "tasks_app.meetings_finish_pending", "schedule": 60},
    "calendars-sync-all-identifiers": {"task": "calendars_app.sync_all_identifiers",
                                       "schedule": TSKR_SYNC_INTERVAL_MINUTES * 60},
    "conversations-fail-stale-chat-jobs": {"task": "conversations.fail_stale_chat_jobs", "schedule": 60},
    "conversations-resend-queued-chat-jobs": {"task": "conversations.resend_queued_chat_jobs", "schedule": 60},
    "tskr-purge-idempotency-keys": {"task": "tskr.purge_idempotency_keys", "schedule": 3600},
    "tasks-expire-approvals": {"task": "tasks_app.expire_approvals", "schedule": 60},
}
# Fernet keys (comma-separated, newest first) encrypting OAuth tokens at rest. Rotate by prepending a
# new key; old keys keep decrypting until re-encrypted. Development derives one from SECRET_KEY.
TSKR_ENCRYPTION_KEYS = env_list("TSKR_ENCRYPTION_KEYS", [])
if not TSKR_ENCRYPTION_KEYS and not DEBUG:
    raise ImproperlyConfigured("TSKR_ENCRYPTION_KEYS must be set when TSKR_DEBUG is off")

# --- Outbound webhooks (accounts) ------------------------------------------------------------
TSKR_WEBHOOK_TIMEOUT_SECONDS = env_int("TSKR_WEBHOOK_TIMEOUT_SECONDS", 15, minimum=1)
# Delays in seconds between consecutive attempts after the first (Standard Webhooks' / Svix's schedule).
TSKR_WEBHOOK_RETRY_SCHEDULE = env_int_list("TSKR_WEBHOOK_RETRY_SCHEDULE", [5, 300, 1800, 7200, 18000, 36000, 36000],
                                           minimum=1)
TSKR_WEBHOOK_DISABLE_AFTER_DAYS = env_int("TSKR_WEBHOOK_DISABLE_AFTER_DAYS", 5, minimum=1)
TSKR_WEBHOOK_SECRET_OVERLAP_HOURS = env_int("TSKR_WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0)
# Loopback, private and reserved targets (and plain http://) for development and tests only.
TSKR_WEBHOOKS_ALLOW_PRIVATE = env_bool("TSKR_WEBHOOKS_ALLOW_PRIVATE", False)
TSKR_EVENT_RETENTION_DAYS = env_int("TSKR_EVENT_RETENTION_DAYS", 30, minimum=1)
# `dispatcher`: a commit that wrote events wakes `manage.py deliver_webhooks --loop` through PostgreSQL's
# LISTEN/NOTIFY (nothing more on the write path). `inline`: the first attempts run in the committing
# process (the embedded default, SQLite).
_postgresql = _database["ENGINE"] == "django.db.backends.postgresql"
TSKR_WEBHOOK_DELIVERY = env_choice("TSKR_WEBHOOK_DELIVERY", "dispatcher" if _postgresql else "inline",
                                   {"dispatcher", "inline"})
if TSKR_WEBHOOK_DELIVERY == "dispatcher" and not _postgresql:
    raise ImproperlyConfigured("TSKR_WEBHOOK_DELIVERY=dispatcher needs PostgreSQL (its NOTIFY wakes the dispatcher)")

# --- The assistant's actions (tasks_app) ---------------------------------------------------------
# How long a supervised action waits for its owner's decision before it expires.
TSKR_APPROVAL_TTL_HOURS = env_int("TSKR_APPROVAL_TTL_HOURS", 72, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.CertificateJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tskr.api.permissions.IsAccountMember"],
    "DEFAULT_THROTTLE_CLASSES": ["tskr.infra.ratelimit.AccountRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["tskr.api.renderers.EnvelopeRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tskr.api.parsers.StrictJSONParser"],
    "DEFAULT_METADATA_CLASS": "tskr.api.metadata.MinimalMetadata",
    "DEFAULT_PAGINATION_CLASS": "tskr.api.pagination.EnvelopePagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "tskr.api.openapi.EnvelopeAutoSchema",
    "EXCEPTION_HANDLER": "tskr.api.exception_handler.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "PAGE_SIZE": 20,
    "COERCE_DECIMAL_TO_STRING": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TSKR Platform API",
    "DESCRIPTION": (
        "REST API for AI assistants. Authenticate with `Authorization: Bearer <JWT>` signed RS256 with "
        "your certificate's private key (`kid` header). Every success is `{\"ok\": true, <resource>: ...}`; "
        "every error is `{\"error\", \"error_code\"}` (+ `details` for validation errors)."
    ),
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's copy, served by the application: /docs works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MemoryTypeEnum": "directory.models.Memory.Type",
        "IdentifierTypeEnum": "directory.models.UserIdentifier.Type",
        "CalendarPlatformEnum": "calendars_app.models.Platform",
        "OAuthAccessStatusEnum": "calendars_app.models.OAuthAccess.Status",
        "CalendarRoleEnum": "calendars_app.models.UserCalendar.Role",
        "ActiveInactiveStatusEnum": "accounts.models.User.Status",
        "ChatStatusEnum": "conversations.models.Chat.Status",
        "ChatJobStatusEnum": "conversations.models.ChatJob.Status",
        "MessageRoleEnum": "conversations.models.Message.Role",
        "MessagePlatformEnum": "conversations.models.Message.Platform",
        "TaskStatusEnum": "tasks_app.models.Task.Status",
        "MeetingStatusEnum": "tasks_app.models.Meeting.Status",
        "MeetingTypeEnum": "tasks_app.models.Meeting.Type",
        "MeetingConferenceEnum": "tasks_app.models.Meeting.Conference",
        "ActivityTypeEnum": "tasks_app.models.Activity.Type",
        "SkillStatusEnum": "admin_catalog.models.Skill.Status",
        "WebhookEventTypeEnum": "accounts.models.EventType",
        "WebhookDeliveryStatusEnum": "accounts.models.WebhookDelivery.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tskr.api.openapi.add_error_responses",
        "tskr.api.openapi.allow_empty_query_enums",
        "tskr.api.openapi.add_idempotency_header",
        "accounts.openapi.add_webhook_event_schemas",
    ],
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Static files are served by WhiteNoise from the installed apps' own folders: no collectstatic step,
# so no STATIC_ROOT.
WHITENOISE_USE_FINDERS = True

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("TSKR_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.request": {"level": "ERROR"}},
}
