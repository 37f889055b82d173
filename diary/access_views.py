"""Who looked: a child's access log for their clinicians, a site's for its administrators."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diary.access import not_logged
from diary.forms import DateInput
from diary.models import AccessAction, AccessEvent, Child


class AccessFilter(forms.Form):
    user = forms.CharField(label=gettext_lazy("User name"), required=False, max_length=150)
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput)
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=DateInput)
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        required=False,
        choices=[("", gettext_lazy("All"))] + AccessAction.choices,
    )

    def apply(self, events):
        if not self.is_valid():
            return events.none()
        data = self.cleaned_data
        if data["user"]:
            events = events.filter(username__iexact=data["user"].strip())
        if data["start"]:
            events = events.filter(at__date__gte=data["start"])
        if data["end"]:
            events = events.filter(at__date__lte=data["end"])
        if data["action"]:
            events = events.filter(action=data["action"])
        return events


def _page(request, events, context: dict):
    form = AccessFilter(request.GET or None)
    events = form.apply(events) if form.is_bound else events
    page = Paginator(
        events.select_related("user", "child", "site"), settings.ACCESS_LOG_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update(form=form, page=page, query=query.urlencode())
    return render(request, "diary/access_log.html", context)


@login_required
@not_logged
def child_access(request, pk: int):
    """Who viewed, exported or imported this child's data: for the child's clinicians."""
    child = get_object_or_404(Child.objects.visible_to(request.user), pk=pk)
    if not Child.objects.managed_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied(_("The access log is for the child's clinicians."))
    return _page(request, AccessEvent.objects.for_child(child), {"child": child})


@login_required
def site_access(request, code: str):
    """Every access-log row of the site: for its administrators."""
    site = get_object_or_404(request.user.admin_sites(), code=code)
    return _page(request, AccessEvent.objects.for_site(site), {"site": site})
