from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from diary.models import (
    ApiToken,
    CareLink,
    Child,
    DataTransfer,
    Invitation,
    PushSubscription,
    Site,
    SiteMembership,
    User,
)


@admin.register(User)
class DiaryUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Preferences", {"fields": ("language",)}),)
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")


class MembershipInline(admin.TabularInline):
    model = SiteMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "country", "growth_reference")
    search_fields = ("code", "name")
    inlines = [MembershipInline]


class CareLinkInline(admin.TabularInline):
    model = CareLink
    extra = 0
    autocomplete_fields = ["caregiver"]


@admin.register(Child)
class ChildAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "site", "diagnosis", "date_of_birth")
    list_filter = ("site", "diagnosis")
    search_fields = ("first_name", "last_name", "reference")
    inlines = [CareLinkInline]

    def has_delete_permission(self, request, obj=None):
        # A plain delete would leave the child's names in the history: erase_child blanks them.
        return False


@admin.register(Invitation)
class InvitationAdmin(SimpleHistoryAdmin):
    list_display = ("email", "child", "site", "role", "created", "accepted_at", "revoked_at")
    readonly_fields = ("accepted_at", "accepted_by")


admin.site.register(SiteMembership, SimpleHistoryAdmin)
admin.site.register(CareLink, SimpleHistoryAdmin)


@admin.register(DataTransfer)
class DataTransferAdmin(admin.ModelAdmin):
    """The log of identifiable data exported and imported: read only."""

    list_display = ("started", "kind", "user", "site", "child", "finished", "sha256")
    list_filter = ("kind", "site")
    readonly_fields = [f.name for f in DataTransfer._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens by device: a superuser may revoke (delete) one; tokens are made only by
    signing in, and only their digest is stored."""

    list_display = ("user", "device", "staff", "created", "expiry", "last_used")
    list_filter = ("staff",)
    search_fields = ("user__username", "device")
    readonly_fields = ("user", "device", "staff", "created", "expiry", "last_used")
    exclude = ("digest", "token_key")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    """Devices with notifications on: a superuser may turn one off (delete it); they are made
    only by the caregiver's own browser."""

    list_display = ("user", "device", "created", "last_sent")
    search_fields = ("user__username", "device")
    readonly_fields = ("user", "device", "created", "last_sent")
    exclude = ("endpoint", "p256dh", "auth")

    def has_add_permission(self, request):
        return False
