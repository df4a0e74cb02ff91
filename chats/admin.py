"""Moderation in the Django admin: chats with their branch tree and content.

Every change goes through the services the API uses (status, title, delete),
so caches are invalidated and content is removed the same way; every action is
recorded in the admin history.
"""

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.utils.translation import ngettext

from . import content_repository, services
from .models import Branch, Chat, ChatStatus

PAIRS_PER_PAGE = 50


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "status", "branch_count", "pair_count", "updated_at"]
    list_filter = ["status", ("updated_at", admin.DateFieldListFilter)]
    search_fields = ["title", "owner__username"]
    list_select_related = ["owner"]
    date_hierarchy = "updated_at"
    ordering = ["-updated_at"]
    fields = ["title", "status", "owner", "created_at", "updated_at", "active_branch"]
    readonly_fields = ["owner", "created_at", "updated_at", "active_branch"]
    actions = ["lock", "unlock", "hide", "restore", "delete_with_content"]
    change_form_template = "admin/chats/chat/change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(branch_total=Count("branches"), pair_total=Sum("branches__message_count"))
        )

    @admin.display(description="branches", ordering="branch_total")
    def branch_count(self, chat):
        return chat.branch_total

    @admin.display(description="pairs", ordering="pair_total")
    def pair_count(self, chat):
        return chat.pair_total or 0

    def has_add_permission(self, request):
        return False  # chats are made by their owners, through the API

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Django's bulk delete would leave the content behind in MongoDB.
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            services.chat_moderate(chat=obj, status=obj.status)
        if "title" in form.changed_data:
            services.chat_rename(chat=obj, title=obj.title)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Branches go with their chat; no separate permission to delete them.
        perms_needed.discard(Branch._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        services.chat_delete(chat=obj)

    def delete_queryset(self, request, queryset):
        for chat in queryset:
            services.chat_delete(chat=chat)

    def _moderate(self, request, queryset, status, verb):
        chats = [chat for chat in queryset if chat.status != status]
        for chat in chats:
            services.chat_moderate(chat=chat, status=status)
            self.log_change(request, chat, f"{verb.capitalize()} the chat.")
        count = len(chats)
        self.message_user(
            request, ngettext("%d chat %s.", "%d chats %s.", count) % (count, verb), messages.SUCCESS
        )

    @admin.action(description="Lock selected chats (read-only to their owners)", permissions=["change"])
    def lock(self, request, queryset):
        # A hidden chat stays hidden: locking must not show it to its owner.
        self._moderate(request, queryset.exclude(status=ChatStatus.HIDDEN), ChatStatus.LOCKED, "locked")

    @admin.action(description="Unlock selected chats", permissions=["change"])
    def unlock(self, request, queryset):
        self._moderate(request, queryset.filter(status=ChatStatus.LOCKED), ChatStatus.ACTIVE, "unlocked")

    @admin.action(description="Hide selected chats (invisible to their owners)", permissions=["change"])
    def hide(self, request, queryset):
        self._moderate(request, queryset, ChatStatus.HIDDEN, "hidden")

    @admin.action(description="Restore selected hidden chats", permissions=["change"])
    def restore(self, request, queryset):
        self._moderate(request, queryset.filter(status=ChatStatus.HIDDEN), ChatStatus.ACTIVE, "restored")

    @admin.action(description="Delete selected chats and their content", permissions=["delete"])
    def delete_with_content(self, request, queryset):
        chats = []
        for chat in queryset:
            try:
                services.chat_delete(chat=chat)
            except Chat.DoesNotExist:
                continue  # its owner deleted it meanwhile
            except content_repository.ContentStoreUnavailable:
                self.message_user(request, "MongoDB is unavailable; the remaining chats were kept.", messages.ERROR)
                break
            # Logged once gone, so the history never records a deletion that failed.
            self.log_deletions(request, [chat])
            chats.append(chat)
        self.message_user(
            request, ngettext("%d chat deleted.", "%d chats deleted.", len(chats)) % len(chats), messages.SUCCESS
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        chat = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if chat is not None:
            extra_context.update(self._content_context(request, chat))
        return super().change_view(request, object_id, form_url, extra_context)

    def _content_context(self, request, chat):
        """The branch tree, and one branch's own pairs, a page at a time."""
        branches = list(chat.branches.order_by("created_at"))
        children = {}
        for branch in branches:
            children.setdefault(branch.parent_id, []).append(branch)
        # Depth-first, without recursion: an owner can chain thousands of forks.
        tree, stack = [], [(root, 0) for root in reversed(children.get(None, []))]
        while stack:
            branch, depth = stack.pop()
            tree.append({"branch": branch, "depth": depth, "indent": depth * 24, "active": branch.id == chat.active_branch_id})
            stack.extend((child, depth + 1) for child in reversed(children.get(branch.id, [])))

        shown = next((b for b in branches if str(b.id) == request.GET.get("branch")), None)
        shown = shown or next((b for b in branches if b.id == chat.active_branch_id), None)
        context = {"branch_tree": tree, "shown_branch": shown}
        if shown is None:
            return context
        try:
            length = content_repository.branch_length(chat_id=chat.id, branch_id=shown.id)
            paginator = Paginator(range(length), PAIRS_PER_PAGE)
            page = paginator.get_page(request.GET.get("page"))
            pairs = content_repository.read_pairs_before(
                chat_id=chat.id, branch_id=shown.id, end=page.object_list.stop, limit=len(page.object_list)
            ) if length else []
        except content_repository.ContentStoreUnavailable:
            # The form (status, title) must stay usable while MongoDB is down.
            return {**context, "content_unavailable": True}
        context.update(
            {
                "pairs": [{"pair": p, "position": shown.fork_position + p.index} for p in pairs],
                "pairs_page": page,
                "pairs_total": length,
            }
        )
        return context


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    """Read-only: branches change through their chat's owner or the chat page."""

    list_display = ["name", "chat", "parent", "fork_position", "message_count", "created_at"]
    search_fields = ["name", "chat__title"]
    list_select_related = ["chat", "parent"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
