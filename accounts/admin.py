from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [*DjangoUserAdmin.list_display, "chats"]
    readonly_fields = ["chats"]
    fieldsets = [*DjangoUserAdmin.fieldsets, ("Chats", {"fields": ["chats"]})]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(chat_total=Count("chats"))

    @admin.display(description="chats", ordering="chat_total")
    def chats(self, user):
        """How many chats the user has, linking to them in the chat list."""
        total = getattr(user, "chat_total", None)
        if total is None:
            total = user.chats.count()
        url = reverse("admin:chats_chat_changelist") + "?" + urlencode({"owner__id__exact": user.pk})
        return format_html('<a href="{}">{} chat{}</a>', url, total, "" if total == 1 else "s")
