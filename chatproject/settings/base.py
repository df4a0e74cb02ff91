"""Settings shared by every environment. Each integration has its own module,
pulled in below; `local`, `test` and `production` adjust what differs."""

from .cache import *  # noqa: F401,F403
from .database import *  # noqa: F401,F403
from csp.constants import NONCE, NONE, SELF

from .environment import BASE_DIR, env
from .jwt import *  # noqa: F401,F403
from .llm import *  # noqa: F401,F403
from .mongo import *  # noqa: F401,F403
from .spectacular import *  # noqa: F401,F403
from .throttling import *  # noqa: F401,F403

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "accounts",
    "chats",
    "branches",
    "generation",
    "transfer",
    "search",
    "shares",
    "webclient",
]

MIDDLEWARE = [
    # First, so that nothing reads a chunked body before it is read whole.
    "chatproject.api.middleware.ChunkedBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "chatproject.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware, so preflight requests are answered here.
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "chatproject.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatproject.urls"
# JSON in the error shape under /api/ and /health, Django's page elsewhere.
CSRF_FAILURE_VIEW = "chatproject.api.views.csrf_failure"
WSGI_APPLICATION = "chatproject.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

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
# Times as "2026-11-30 09:15:04 UTC" everywhere (chatproject/formats/en).
FORMAT_MODULE_PATH = ["chatproject.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Request bodies over 1 MiB are refused with 413 (chatproject.api.parsers).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Product limits. A chat's title and a branch's name: the API, the models and
# imports all read this one setting (a column width: change it with a migration).
MAX_TITLE_CHARS = 200
MAX_MESSAGE_CHARS = env.int("MAX_MESSAGE_CHARS", default=100_000)
# import-chats: the largest file (or JSON body) it takes, and how many
# conversations one file may hold. The import_chat command has no limit.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
IMPORT_MAX_CONVERSATIONS = env.int("IMPORT_MAX_CONVERSATIONS", default=1000)
# search-messages: PostgreSQL's text search configuration (`english` stems
# words, `simple` does not). Changing it takes `rebuild_search_index`.
SEARCH_CONFIG = env("SEARCH_CONFIG", default="english")
SEARCH_PAGE_SIZE, SEARCH_MAX_PAGE_SIZE = 20, 50
# Share links: how many live ones a user may have at once.
SHARES_PER_USER = env.int("SHARES_PER_USER", default=100)

# Every response's Content-Security-Policy (chatproject/csp.py): this origin
# only; an inline script or style runs only with the response's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.CachedUserJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, in and out: no browsable HTML pages, no form parsing.
    "DEFAULT_RENDERER_CLASSES": ["chatproject.api.renderers.ApiJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["chatproject.api.parsers.LimitedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "chatproject.api.negotiation.RememberingContentNegotiation",
    "DEFAULT_THROTTLE_CLASSES": ["chatproject.api.throttles.UserThrottle"],
    # Our throttles read settings.NUM_PROXIES themselves; DRF's own default
    # (None) would trust any X-Forwarded-For.
    "NUM_PROXIES": NUM_PROXIES,  # noqa: F405
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "chatproject.api.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # No OPTIONS metadata pages: every route answers only its own method (and
    # HEAD for reads); CORS preflights are answered by django-cors-headers.
    "DEFAULT_METADATA_CLASS": None,
}

# Browser front ends on other origins (comma separated, e.g. https://chat.example.com).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

# An error response lists at most this many errors (the last one then says the
# list was cut), however many a request could produce.
API_MAX_ERRORS = 20

DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "chatproject.api.exceptions.ExceptionHandler",
    "EXCEPTION_FORMATTER_CLASS": "chatproject.api.formatter.BoundedExceptionFormatter",
    # Every error, including unexpected ones, in the documented JSON shape.
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    # Each operation documents its own errors (chatproject.api.openapi.errors).
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Ignored Redis errors are logged once per call; keep them visible but quiet.
        "django_redis.cache": {"level": "WARNING"},
    },
}
