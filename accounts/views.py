"""Auth routes: register, login, refresh, logout, me."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import (
    AuthenticationFailed,
    InvalidToken,
    TokenError,
)
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from chatproject.api.openapi import errors
from chatproject.api.throttles import AuthThrottle

from . import services
from .serializers import (
    LoginInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenPairOutputSerializer,
    UserOutputSerializer,
)

_anonymous = {"permission_classes": [AllowAny], "authentication_classes": [], "throttle_classes": [AuthThrottle]}


class AuthViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]

    def get_authenticate_header(self, request):
        # The anonymous actions run without authenticators, which would turn
        # their 401s into 403s; they are token endpoints, so say Bearer.
        return super().get_authenticate_header(request) or 'Bearer realm="api"'

    @extend_schema(
        operation_id="auth_register",
        tags=["auth"],
        summary="Create an account",
        description="No token needed. Weak passwords are refused by Django's password validators (400).",
        request=RegisterInputSerializer,
        responses={
            201: UserOutputSerializer,
            **errors(
                400, 405, 413, 415, 429, 503,
                invalid=("password", "password_too_common", "This password is too common."),
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="register", **_anonymous)
    def register(self, request):
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="auth_login",
        tags=["auth"],
        summary="Log in",
        description="Trades a username and password for an `access` token and a `refresh` token.",
        request=LoginInputSerializer,
        responses={
            200: TokenPairOutputSerializer,
            **errors(
                400, 401, 405, 413, 415, 429, 503,
                invalid=("password", "required", "This field is required."),
                unauthorized=("no_active_account",),
                notes={401: "Unknown username, wrong password or inactive account, alike."},
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="login", **_anonymous)
    def login(self, request):
        LoginInputSerializer(data=request.data).is_valid(raise_exception=True)
        serializer = TokenObtainPairSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)

    @extend_schema(
        operation_id="auth_refresh",
        tags=["auth"],
        summary="Refresh the tokens",
        description="Trades a refresh token for a new pair; the old refresh token stops working (rotation).",
        request=RefreshInputSerializer,
        responses={
            200: TokenPairOutputSerializer,
            **errors(
                400, 401, 405, 413, 415, 429, 503,
                invalid=("refresh", "required", "This field is required."),
                unauthorized=("token_not_valid",),
                notes={401: "The refresh token is invalid, expired or already used."},
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="refresh", **_anonymous)
    def refresh(self, request):
        serializer = RefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tokens = services.token_refresh(token=serializer.validated_data["refresh"])
        except TokenError as exc:
            raise InvalidToken(str(exc)) from exc
        except get_user_model().DoesNotExist as exc:
            raise AuthenticationFailed("No active account found for the given token.", "no_active_account") from exc
        return Response(tokens)

    @extend_schema(
        operation_id="auth_logout",
        tags=["auth"],
        summary="Log out",
        description="Revokes the given refresh token of yours; access tokens run out on their own.",
        request=RefreshInputSerializer,
        responses={
            204: None,
            **errors(
                400, 401, 405, 413, 415, 429, 503,
                invalid=("refresh", "token_not_valid", "Token is invalid or expired"),
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="logout")
    def logout(self, request):
        serializer = RefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.refresh_token_revoke(user=request.user, token=serializer.validated_data["refresh"])
        except TokenError as exc:
            raise ValidationError({"refresh": [str(exc)]}, code="token_not_valid") from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="auth_me",
        tags=["auth"],
        summary="Who am I",
        description="The account the token belongs to.",
        responses={200: UserOutputSerializer, **errors(401, 405, 429, 503, method="GET")},
    )
    @action(detail=False, methods=["get"], url_path="me")
    def me(self, request):
        return Response(UserOutputSerializer(request.user).data)
