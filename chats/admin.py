"""Moderation in the Django admin: chats with their branch tree and content.

Every change goes through the services the API uses: moderation (lock,
unlock, hide, restore) through `services.chat_moderate`, from an action or
from the chat's form alike, titles through `chat_rename`, deletions through
`chat_delete`, so caches are invalidated and content is removed the same way.
Every change is recorded in the admin history with what it changed, from
what to what.
"""

import dataclasses
import math

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import ngettext

from chatproject.errors import NotFound

from . import content_repository, services
from .models import Branch, Chat
from .selectors import _path_segments, chat_branches
from .services import Moderation

PAIRS_PER_PAGE = 50
# Fork points are named by the question they fork after: one content read per
# fork, so a chat with more forks than this shows the rest by position only.
NAMED_FORKS = 200
FORK_QUESTION_CHARS = 60


def chat_url(chat_id, branch_id=None):
    url = reverse("admin:chats_chat_change", args=[chat_id])
    return f"{url}?{urlencode({'branch': branch_id})}" if branch_id else url


def owner_link(user):
    url = reverse("admin:accounts_user_change", args=[user.pk])
    return format_html('<a href="{}">{}</a>', url, user.get_username())


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = ["title", "owner_name", "status", "branch_count", "pair_count", "created_at", "updated_at"]
    list_filter = [
        "status",
        "locked",
        "hidden",
        ("owner", admin.RelatedOnlyFieldListFilter),
        ("updated_at", admin.DateFieldListFilter),
    ]
    search_fields = ["title", "owner__username"]
    search_help_text = "Searches chat titles and owners’ usernames."
    list_select_related = ["owner"]
    date_hierarchy = "updated_at"
    ordering = ["-updated_at"]
    fields = ["title", "locked", "hidden", "status", "owner_name", "created_at", "updated_at", "active_branch", "share_links"]
    readonly_fields = ["status", "owner_name", "created_at", "updated_at", "active_branch", "share_links"]
    actions = ["lock", "unlock", "hide", "restore", "delete_with_content"]
    change_form_template = "admin/chats/chat/change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(branch_total=Count("branches"), pair_total=Sum("branches__message_count"))
        )

    @admin.display(description="owner", ordering="owner__username")
    def owner_name(self, chat):
        return owner_link(chat.owner)

    @admin.display(description="branches", ordering="branch_total")
    def branch_count(self, chat):
        return chat.branch_total

    @admin.display(description="pairs", ordering="pair_total")
    def pair_count(self, chat):
        return chat.pair_total or 0

    @admin.display(description="shares")
    def share_links(self, chat):
        # Shares live in their own app (shares/admin.py): linked, filtered to this chat.
        count = chat.shares.count()
        url = reverse("admin:shares_share_changelist") + "?" + urlencode({"chat__id__exact": str(chat.pk)})
        return format_html('<a href="{}">{}</a>', url, ngettext("%d share link", "%d share links", count) % count)

    def has_add_permission(self, request):
        return False  # chats are made by their owners, through the API

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Django's bulk delete would leave the content behind in MongoDB.
        actions.pop("delete_selected", None)
        return actions

    # -- the form: moderation flags and title, each through its service --------

    def save_model(self, request, obj, form, change):
        # Each flag the moderator changed is one moderation action, under the
        # same rules as the actions of the chat list.
        wanted = {
            "locked": (Moderation.LOCK, Moderation.UNLOCK),
            "hidden": (Moderation.HIDE, Moderation.RESTORE),
        }
        request._moderation_results = [
            services.chat_moderate(chat_id=obj.pk, action=on if form.cleaned_data[flag] else off)
            for flag, (on, off) in wanted.items()
            if flag in form.changed_data
        ]
        if "title" in form.changed_data:
            services.chat_rename(chat=Chat.objects.get(pk=obj.pk), title=form.cleaned_data["title"])

    def construct_change_message(self, request, form, formsets, add=False):
        changes = [result.describe() for result in getattr(request, "_moderation_results", []) if result.changed]
        if "title" in form.changed_data:
            changes.append(f"Renamed the chat: title “{form.initial['title']}” → “{form.cleaned_data['title']}”.")
        return " ".join(changes)

    # -- deletion ---------------------------------------------------------------

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Branches go with their chat; no separate permission to delete them.
        perms_needed.discard(Branch._meta.verbose_name)
        perms_needed.discard(Branch._meta.verbose_name_plural)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        services.chat_delete(chat=obj)

    def delete_queryset(self, request, queryset):
        for chat in queryset:
            services.chat_delete(chat=chat)

    # -- actions ------------------------------------------------------------------

    def _moderate(self, request, queryset, action):
        results = []
        for chat in queryset:
            try:
                results.append(services.chat_moderate(chat_id=chat.pk, action=action))
            except Chat.DoesNotExist:
                continue  # deleted meanwhile
        done = [r for r in results if r.changed]
        for result in done:
            self.log_change(request, result.chat, result.describe())
        skipped = [r for r in results if not r.changed]
        verb = action.label
        if not done:
            self.message_user(request, _none_applied(verb, skipped), messages.WARNING)
            return
        text = ngettext("%(n)d chat %(verb)s.", "%(n)d chats %(verb)s.", len(done)) % {"n": len(done), "verb": verb}
        if skipped:
            text += " " + _skipped(skipped)
        self.message_user(request, text, messages.SUCCESS)

    @admin.action(description="Lock selected chats (read-only to their owners)", permissions=["change"])
    def lock(self, request, queryset):
        self._moderate(request, queryset, Moderation.LOCK)

    @admin.action(description="Unlock selected chats", permissions=["change"])
    def unlock(self, request, queryset):
        self._moderate(request, queryset, Moderation.UNLOCK)

    @admin.action(description="Hide selected chats (invisible to their owners)", permissions=["change"])
    def hide(self, request, queryset):
        self._moderate(request, queryset, Moderation.HIDE)

    @admin.action(description="Restore selected hidden chats", permissions=["change"])
    def restore(self, request, queryset):
        self._moderate(request, queryset, Moderation.RESTORE)

    @admin.action(description="Delete selected chats and their content", permissions=["delete"])
    def delete_with_content(self, request, queryset):
        """Like Django's own delete action: a page listing what goes, then,
        once confirmed, each chat with its branches and content."""
        if not request.POST.get("post"):
            return self._delete_confirmation(request, queryset)
        chats = []
        for chat in queryset:
            try:
                services.chat_delete(chat=chat)
            except NotFound:
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
        return None

    def _delete_confirmation(self, request, queryset):
        if not self.has_delete_permission(request):
            raise PermissionDenied
        chats = list(queryset.select_related("owner").order_by("-updated_at"))
        totals = {
            "chats": len(chats),
            "branches": sum(c.branch_total for c in chats),
            "pairs": sum(c.pair_total or 0 for c in chats),
        }
        context = {
            **self.admin_site.each_context(request),
            "title": "Delete chats and their content?",
            "opts": self.model._meta,
            "chats": chats,
            "totals": totals,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/chats/chat/delete_with_content_confirmation.html", context)

    # -- the chat's page: its tree and the path of one branch ------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        chat = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if chat is not None:
            extra_context.update(self._content_context(request, chat))
        return super().change_view(request, object_id, form_url, extra_context)

    def _content_context(self, request, chat):
        """The branch tree, and the whole path of one branch (the active one
        unless ?branch= names another) as its owner reads it, a page at a time,
        the newest page first."""
        branches = chat_branches(chat=chat)
        shown = next((b for b in branches if str(b.id) == request.GET.get("branch")), None)
        shown = shown or next((b for b in branches if b.id == chat.active_branch_id), None)
        context = {"shown_branch": shown}
        try:
            fork_questions = _fork_questions(chat, branches)
        except content_repository.ContentStoreUnavailable:
            fork_questions, context["content_unavailable"] = {}, True
        context["branch_tree"] = _tree(chat, branches, fork_questions)
        if shown is None or context.get("content_unavailable"):
            return context
        try:
            own = content_repository.branch_length(chat_id=chat.id, branch_id=shown.id)
            length = shown.fork_position + own
            page = PathPage.of(length, request.GET.get("page"))
            items = _path_window(chat.id, branches, shown, page.start, page.end) if length else []
        except content_repository.ContentStoreUnavailable:
            # The form (flags, title) must stay usable while MongoDB is down.
            return {**context, "content_unavailable": True}
        context.update(
            {
                "pairs": items,
                "pairs_page": page,
                "pairs_total": length,
                "pairs_own": own,
                "page_links": _page_links(chat, shown, page),
            }
        )
        return context


def _none_applied(verb, skipped):
    """Why an action changed nothing, e.g. "No chat was locked: the 2 selected
    are already locked." """
    if not skipped:
        return f"No chat was {verb}: none of the selected chats exists any more."
    reasons = sorted({r.reason for r in skipped})
    n = len(skipped)
    if len(reasons) == 1:
        return (
            f"No chat was {verb}: "
            + ngettext("the %(n)d selected is %(why)s.", "the %(n)d selected are %(why)s.", n)
            % {"n": n, "why": reasons[0]}
        )
    return f"No chat was {verb}: " + ", ".join(reasons) + "."


def _skipped(skipped):
    reason = sorted({r.reason for r in skipped})
    n = len(skipped)
    return ngettext("%(n)d was skipped: %(why)s.", "%(n)d were skipped: %(why)s.", n) % {
        "n": n,
        "why": ", ".join(reason),
    }


def _fork_questions(chat, branches):
    """{branch id: the question of the pair it forks after}, for the first
    NAMED_FORKS forks. The parent holds that pair itself (see services)."""
    by_id = {b.id: b for b in branches}
    questions = {}
    forks = [b for b in branches if b.fork_response_id is not None and b.parent_id in by_id][:NAMED_FORKS]
    for branch in forks:
        parent = by_id[branch.parent_id]
        index = branch.fork_position - parent.fork_position - 1
        if index < 0:
            continue
        pairs = content_repository.read_pairs_before(chat_id=chat.id, branch_id=parent.id, end=index + 1, limit=1)
        if pairs and pairs[0].response_id == str(branch.fork_response_id):
            questions[branch.id] = Truncator(pairs[0].question).chars(FORK_QUESTION_CHARS)
    return questions


def _tree(chat, branches, fork_questions):
    children = {}
    for branch in branches:
        children.setdefault(branch.parent_id, []).append(branch)
    # Depth-first, without recursion: an owner can chain thousands of forks.
    tree, stack = [], [(root, 0) for root in reversed(children.get(None, []))]
    while stack:
        branch, depth = stack.pop()
        tree.append(
            {
                "branch": branch,
                "depth": depth,
                "indent": depth * 24,
                "active": branch.id == chat.active_branch_id,
                "fork_question": fork_questions.get(branch.id),
            }
        )
        stack.extend((child, depth + 1) for child in reversed(children.get(branch.id, [])))
    return tree


@dataclasses.dataclass(frozen=True)
class PathPage:
    """A page of a path of `length` pairs, counted back from the newest as
    the owner reads it: the last page holds the newest PAIRS_PER_PAGE pairs,
    the first page whatever is left at the start. Pages are numbered from the
    oldest (1) to the newest, which is the one shown by default."""

    number: int
    num_pages: int
    start: int
    end: int

    @classmethod
    def of(cls, length, requested):
        num_pages = max(1, math.ceil(length / PAIRS_PER_PAGE))
        try:
            number = min(max(int(requested), 1), num_pages)
        except (TypeError, ValueError):
            number = num_pages
        end = length - (num_pages - number) * PAIRS_PER_PAGE
        return cls(number, num_pages, max(0, end - PAIRS_PER_PAGE), end)

    @property
    def has_other_pages(self):
        return self.num_pages > 1


def _path_window(chat_id, branches, branch, start, end):
    """The pairs at positions [start, end) of a branch's whole path, oldest
    first, each marked with the branch holding it (inherited or its own)."""
    items = []
    for segment in reversed(_path_segments(branches, branch)):
        first = segment.path_start
        last = end if segment.own_end is None else first + segment.own_end
        low, high = max(start, first), min(end, last)
        if high <= low:
            if last <= start:
                break
            continue
        pairs = content_repository.read_pairs_before(
            chat_id=chat_id, branch_id=segment.branch.id, end=high - first, limit=high - low
        )
        items[:0] = [
            {
                "pair": pair,
                "position": first + pair.index,
                "holder": segment.branch,
                "inherited": segment.branch.id != branch.id,
            }
            for pair in pairs
        ]
    return items


def _page_links(chat, branch, page):
    def link(number):
        return f"{chat_url(chat.id, branch.id)}&page={number}"

    last = page.num_pages
    return {
        "oldest": link(1) if page.number > 1 else None,
        "earlier": link(page.number - 1) if page.number > 1 else None,
        "later": link(page.number + 1) if page.number < last else None,
        "newest": link(last) if page.number < last else None,
    }


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    """Read-only: branches change through their chat's owner or the chat page."""

    list_display = ["name", "chat", "parent", "fork_position", "message_count", "created_at"]
    list_filter = [("chat", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "chat__title"]
    search_help_text = "Searches branch names and chat titles."
    list_select_related = ["chat", "parent"]
    ordering = ["chat__title", "chat_id", "created_at"]
    fields = ["name", "chat_page", "parent", "fork_position", "fork_response_id", "message_count", "created_at"]
    readonly_fields = fields

    @admin.display(description="chat")
    def chat_page(self, branch):
        return format_html(
            '<a href="{}">{}</a> (this branch chosen)', chat_url(branch.chat_id, branch.id), branch.chat.title
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
