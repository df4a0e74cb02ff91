from django.contrib.auth import get_user_model
from rest_framework import serializers

from chatproject.api.serializers import StrictInputMixin, StrictSerializer

User = get_user_model()


class UserOutputSerializer(serializers.ModelSerializer):
    # Optional at registration, so often "": not an email format to a schema.
    email = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email"]
        read_only_fields = fields


class RegisterInputSerializer(StrictInputMixin, serializers.ModelSerializer):
    """Username and email validated by the model's own validators, including
    uniqueness; the password by Django's password validators, in the service."""

    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)

    class Meta:
        model = User
        fields = ["username", "password", "email"]
        extra_kwargs = {"email": {"required": False, "allow_blank": True}}


class LoginInputSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshInputSerializer(StrictSerializer):
    refresh = serializers.CharField()


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
