"""The page where a site administrator erases a child (see erasure.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from diary import erasure
from diary.models import Child


@login_required
@require_http_methods(["GET", "POST"])
def child_erase(request, pk: int):
    # Strangers do not learn that the child exists; the child's other people are refused.
    child = get_object_or_404(Child.objects.visible_to(request.user).select_related("site"), pk=pk)
    if not request.user.admin_sites().filter(pk=child.site_id).exists():
        raise PermissionDenied(_("Only the site's administrators can erase a child."))
    problem = erasure.problem_for(child)
    error = None
    if request.method == "POST" and not problem:
        typed = request.POST.get("confirm", "").strip()
        if typed != erasure.confirmation_word(child):
            error = _("What you typed does not match: nothing was erased.")
        else:
            try:
                erasure.erase(child, by=request.user)
            except erasure.NotErasable as refused:
                problem = str(refused)
            else:
                messages.success(request, _("The child's record is erased."))
                return redirect("home")
    context = {
        "child": child,
        "problem": problem,
        "error": error,
        "word": erasure.confirmation_word(child),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "diary/child_erase.html", context, status=status)
