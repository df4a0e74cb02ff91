"""Writes to accounts: the one path shared by the API, the admin and commands."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from .models import User


def user_create(*, username: str, password: str, email: str = "") -> User:
    """Create a user whose password Django's validators accept.

    Raises django.core.exceptions.ValidationError keyed by field, also when a
    concurrent registration takes the username first.
    """
    user = User(username=username, email=User.objects.normalize_email(email or ""))
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc
    user.set_password(password)
    user.full_clean()
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError as exc:
        raise ValidationError(
            {"username": ValidationError("A user with that username already exists.", code="unique")}
        ) from exc
    return user


def refresh_token_revoke(*, user: User, token: str) -> None:
    """Blacklist `token`, a refresh token of `user`.

    Raises TokenError when it is not one (malformed, expired, already revoked,
    or another user's).
    """
    refresh = RefreshToken(token)
    if str(refresh.get("user_id")) != str(user.pk):
        raise TokenError("Token does not belong to this user.")
    refresh.blacklist()


def token_refresh(*, token: str) -> dict[str, str]:
    """Rotate a refresh token: a new pair, the old token blacklisted.

    simplejwt checks the blacklist, then blacklists: two refreshes with one
    token at the same moment would both pass. The token's row is locked around
    both steps, so the second waits and then finds it blacklisted. Raises
    TokenError (bad, expired or reused token) or AuthenticationFailed
    (inactive user); a deleted user is get_user_model().DoesNotExist.
    """
    jti = RefreshToken(token)["jti"]
    with transaction.atomic():
        OutstandingToken.objects.select_for_update().filter(jti=jti).first()
        serializer = TokenRefreshSerializer(data={"refresh": token})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
