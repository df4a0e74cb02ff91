"""The API docs' description of the authentication (drf-spectacular): the
same bearer scheme as simplejwt's own class, under the same name."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class CachedUserJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.CachedUserJWTAuthentication"
