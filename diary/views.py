from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from diary import emails, invitations
from diary.day import day_statuses
from diary.forms import AcceptInvitationForm, CaregiverInviteForm, ChildForm, MemberInviteForm
from diary.history import changes_for_child
from diary.models import Child, GrowthMeasurement, Invitation, SiteMembership


@login_required
def home(request):
    user = request.user
    children = (
        Child.objects.visible_to(user)
        .select_related("site")
        .annotate(n_caregivers=Count("care_links"))
    )
    linked = set(user.care_links.values_list("child_id", flat=True))
    cared_for = [(c, c.today()) for c in children if c.pk in linked]
    statuses = day_statuses(cared_for)  # each child's own today, in the family's time zone
    for child, today in cared_for:
        child.today_status = statuses[child.pk, today]
    context = {
        "cared_for": [child for child, _today in cared_for],
        "site_children": [c for c in children if c.pk not in linked],
        "clinical_sites": user.clinical_sites(),
        "admin_sites": user.admin_sites(),
        "is_researcher": user.is_researcher,
    }
    return render(request, "diary/home.html", context)


@login_required
def child_detail(request, pk: int):
    child = get_object_or_404(Child.objects.visible_to(request.user).select_related("site"), pk=pk)
    can_manage = Child.objects.managed_by(request.user).filter(pk=pk).exists()
    context = {
        "child": child,
        "can_manage": can_manage,
        "caregivers": child.care_links.select_related("caregiver"),
        "pending_invitations": child.invitations.pending() if can_manage else [],
        "history": changes_for_child(child) if can_manage else [],
        "can_erase": request.user.admin_sites().filter(pk=child.site_id).exists(),
        "growth_rows": GrowthMeasurement.objects.filter(child=child).order_by("-date")[:5],
        "assessments": child.assessments.order_by("-date")[:3],
    }
    return render(request, "diary/child_detail.html", context)


def _clinical_sites_or_403(user):
    sites = user.clinical_sites()
    if not sites.exists():
        raise PermissionDenied(_("Only clinicians can register children."))
    return sites


@login_required
def child_create(request):
    sites = _clinical_sites_or_403(request.user)
    form = ChildForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        child = form.save(commit=False)
        child.created_by = request.user
        child.save()
        messages.success(request, _("%(name)s is registered.") % {"name": child.first_name})
        return redirect("child_detail", pk=child.pk)
    return render(request, "diary/child_form.html", {"form": form, "child": None})


@login_required
def child_edit(request, pk: int):
    # A caregiver or stranger must not learn whether the child exists: 404 for both.
    child = get_object_or_404(Child.objects.managed_by(request.user), pk=pk)
    form = ChildForm(request.POST or None, instance=child, sites=request.user.clinical_sites())
    if request.method == "POST" and form.is_valid():
        if form.has_changed():
            form.save()
            messages.success(request, _("Changes saved."))
        return redirect("child_detail", pk=child.pk)
    return render(request, "diary/child_form.html", {"form": form, "child": child})


def _send_invitation(request, invitation: Invitation, language: str) -> None:
    url = invitations.url_for(invitation)
    transaction.on_commit(lambda: emails.send_invitation(invitation, url, language))


@login_required
def child_invite(request, pk: int):
    child = get_object_or_404(Child.objects.managed_by(request.user), pk=pk)
    form = CaregiverInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitation = Invitation.objects.create(
            email=form.cleaned_data["email"],
            child=child,
            relationship=form.cleaned_data["relationship"],
            invited_by=request.user,
        )
        _send_invitation(request, invitation, child.language)
        messages.success(
            request, _("An invitation was emailed to %(email)s.") % {"email": invitation.email}
        )
        return redirect("child_detail", pk=child.pk)
    return render(request, "diary/invite_form.html", {"form": form, "child": child})


@login_required
def site_members(request, code: str):
    site = get_object_or_404(request.user.admin_sites(), code=code)
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitation = Invitation.objects.create(
            email=form.cleaned_data["email"],
            site=site,
            role=form.cleaned_data["role"],
            invited_by=request.user,
        )
        _send_invitation(request, invitation, request.user.language)
        messages.success(
            request, _("An invitation was emailed to %(email)s.") % {"email": invitation.email}
        )
        return redirect("site_members", code=site.code)
    context = {
        "site": site,
        "form": form,
        "memberships": site.memberships.select_related("user").order_by("role", "user__username"),
        "pending_invitations": site.invitations.pending(),
    }
    return render(request, "diary/site_members.html", context)


@login_required
@require_POST
def site_member_remove(request, code: str, membership_pk: int):
    site = get_object_or_404(request.user.admin_sites(), code=code)
    membership = get_object_or_404(SiteMembership, pk=membership_pk, site=site)
    if membership.user_id == request.user.pk:
        messages.error(request, _("You cannot remove yourself; ask another site administrator."))
    else:
        membership.delete()
        messages.success(
            request, _("%(name)s no longer has access.") % {"name": membership.user.display_name}
        )
    return redirect("site_members", code=site.code)


def accept_invitation(request, token: str):
    found = invitations.lookup(token)
    if found.problem:
        return render(
            request,
            "registration/invitation_problem.html",
            {"problem": found.problem},
            status=410 if found.problem != "invalid" else 404,
        )
    invitation = found.invitation
    User = get_user_model()
    existing = User.objects.filter(email__iexact=invitation.email).first()
    if request.user.is_authenticated:
        if request.user.email.lower() != invitation.email.lower():
            return render(
                request,
                "registration/invitation_problem.html",
                {"problem": "other_account", "invitation": invitation},
                status=403,
            )
        if request.method == "POST":
            return _accepted(request, invitation, request.user)
        return render(request, "registration/invitation_accept.html", {"invitation": invitation})
    if existing:
        login_url = reverse("login") + "?next=" + request.path
        return render(
            request,
            "registration/invitation_accept.html",
            {"invitation": invitation, "login_url": login_url},
        )
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = User.objects.create_user(
                username=invitation.email.lower(),
                email=invitation.email.lower(),
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                language=request.LANGUAGE_CODE
                if check_for_language(request.LANGUAGE_CODE)
                else settings.LANGUAGE_CODE,
            )
            response = _accepted(request, invitation, user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return response
    return render(
        request, "registration/invitation_accept.html", {"invitation": invitation, "form": form}
    )


def _accepted(request, invitation: Invitation, user):
    if not invitations.accept(invitation, user):
        return render(
            request, "registration/invitation_problem.html", {"problem": "used"}, status=410
        )
    messages.success(request, _("Welcome! Your account is linked."))
    if invitation.child_id:
        return redirect("child_detail", pk=invitation.child_id)
    return redirect("home")


@require_POST
def set_language(request):
    """Django's set_language, and the choice is remembered on the user's account."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language and check_for_language(language):
        if request.user.is_authenticated and request.user.language != language:
            request.user.language = language
            request.user.save(update_fields=["language"])
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


@login_required
@require_POST
def revoke_invitation(request, pk: int):
    """Withdraw a pending invitation: the child's clinicians, or the site's administrators."""
    revocable = Invitation.objects.pending().filter(
        Q(child__in=Child.objects.managed_by(request.user)) | Q(site__in=request.user.admin_sites())
    )
    invitation = get_object_or_404(revocable, pk=pk)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    messages.success(request, _("The invitation is withdrawn."))
    if invitation.child_id:
        return redirect("child_detail", pk=invitation.child_id)
    return redirect("site_members", code=invitation.site.code)
