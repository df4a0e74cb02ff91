"""Shares for moderators: every share, a chat's shares (the chat page links
here, filtered), and the actions to disable a link and enable it again."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import ngettext

from . import services
from .models import Share


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ["title", "chat", "owner", "pair_count", "created_at", "expires_at", "disabled", "works"]
    list_filter = ["disabled", ("chat", admin.RelatedOnlyFieldListFilter), ("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "chat__title", "owner__username"]
    search_help_text = "Searches the shared title, the chat's title and the owner's username."
    list_select_related = ["chat", "owner"]
    ordering = ["-created_at"]
    fields = ["title", "chat", "branch", "owner", "response_id", "pair_count", "created_at", "expires_at", "disabled"]
    readonly_fields = fields
    actions = ["disable", "enable"]

    @admin.display(boolean=True, description="link works")
    def works(self, share):
        expired = share.expires_at is not None and share.expires_at <= timezone.now()
        return not (share.disabled or expired or share.chat.hidden)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # the actions, not the form

    @admin.action(description="Disable the selected shares' links", permissions=["change"])
    def disable(self, request, queryset):
        self._set(request, queryset, disabled=True)

    @admin.action(description="Enable the selected shares' links again", permissions=["change"])
    def enable(self, request, queryset):
        self._set(request, queryset, disabled=False)

    def _set(self, request, queryset, *, disabled):
        for share in queryset:
            services.share_set_disabled(share=share, disabled=disabled)
        count = queryset.count()
        verb = "disabled" if disabled else "enabled"
        self.message_user(
            request, ngettext(f"%d share {verb}.", f"%d shares {verb}.", count) % count, messages.SUCCESS
        )
