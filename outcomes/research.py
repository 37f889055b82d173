"""Who may export what, and the life of an export: logged, built (here or by a worker), stored
under VAR_DIR/exports/, downloadable by its requester only, announced by email when it ran late.

A researcher may export a study's consenting children when a site administrator of every site
of the study linked them to it (StudyLink) and they are still a researcher of each: an export
covers all of the study's sites, always, so two exports cannot be differenced by site.
"""

import hashlib
import logging
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from diary import emails
from diary.access import log_access
from diary.models import AccessAction, Role, Site, User
from outcomes import export, queueing
from outcomes.models import ExportApproval, ExportLog, ExportStatus, Study

logger = logging.getLogger(__name__)


def export_dir() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- Access -----------------------------------------------------------------------------------


def _linked_sites(user: User, study: Study) -> QuerySet[Site]:
    """The sites of STUDY that linked USER, while USER is still a researcher there."""
    linked = Site.objects.filter(
        studies=study, study_links__study=study, study_links__researcher=user
    ).values("pk")
    researcher_of = Site.objects.filter(
        memberships__user=user, memberships__role=Role.RESEARCHER
    ).values("pk")
    return Site.objects.filter(pk__in=linked).filter(pk__in=researcher_of)


def studies_of(user: User) -> QuerySet[Study]:
    """The studies USER may export: every site of the study linked them. An export covers all
    of a study's sites, always, so exports of one study cannot be differenced by site."""
    if not user.is_authenticated or not user.is_active:
        return Study.objects.none()
    candidates = Study.objects.filter(links__researcher=user).distinct().prefetch_related("sites")
    allowed = [
        study.pk
        for study in candidates
        if study.sites.exists() and _linked_sites(user, study).count() == len(study.sites.all())
    ]
    return Study.objects.filter(pk__in=allowed)


def research_sites(user: User, study: Study) -> QuerySet[Site]:
    """The sites whose consenting children USER exports under STUDY: all of its sites, or none
    while one of them has not linked USER."""
    if not studies_of(user).filter(pk=study.pk).exists():
        return Site.objects.none()
    return study.sites.order_by("code")


class PartialSites(ValueError):
    """A request for some of a study's sites: an export covers them all."""


def resolve(
    user: User, study_code: str, site_codes: list[str] | None = None
) -> tuple[Study, list[Site]]:
    """The study USER asked for and all its sites; a study they may not export, or a site not
    in it, is 404 whether or not it exists. Asking for some of its sites only is refused
    (PartialSites): exports of one study side by side would tell each child's site."""
    study = studies_of(user).filter(code=study_code).first()
    if study is None:
        raise Http404("No such study.")
    sites = list(research_sites(user, study))
    if site_codes:
        if set(site_codes) - {s.code for s in sites}:
            raise Http404("No such site.")
        if set(site_codes) != {s.code for s in sites}:
            raise PartialSites(study.code)
    return study, sites


def visible_exports(user: User) -> QuerySet[ExportLog]:
    """A researcher's own exports, and every export of a site the user administers."""
    if not user.is_authenticated or not user.is_active:
        return ExportLog.objects.none()
    return (
        ExportLog.objects.filter(Q(requested_by=user) | Q(sites__in=user.admin_sites()))
        .distinct()
        .select_related("study", "requested_by")
        .prefetch_related("sites")
    )


def downloadable(user: User) -> QuerySet[ExportLog]:
    """Only the requester downloads, and only a finished file."""
    if not user.is_authenticated or not user.is_active:
        return ExportLog.objects.none()
    return (
        ExportLog.objects.filter(requested_by=user, status=ExportStatus.DONE)
        .exclude(file_name="")
        .select_related("study")  # the download's file name
    )


def record_download(log: ExportLog) -> None:
    ExportLog.objects.filter(pk=log.pk).update(
        downloads=F("downloads") + 1, last_downloaded_at=timezone.now()
    )
    logger.info("export %s downloaded by %s", log.pk, log.requested_by_id)


# --- Running ----------------------------------------------------------------------------------


def request_export(
    user: User | None,
    study: Study,
    sites: list[Site],
    cutoff: date,
    *,
    shift_dates: bool = False,
    include_free_text: bool = False,
    via: str = "web",
    request=None,
) -> tuple[ExportLog, bool]:
    """Log the export and build it now when small, else hand it to a worker (which emails the
    requester). Returns the log and whether it was queued. With free text nothing is built:
    the log waits for the approval of an administrator of each of its sites (approve)."""
    options = export.Options(
        study.code,
        tuple(sorted(s.code for s in sites)),
        cutoff,
        shift_dates=shift_dates,
        include_free_text=include_free_text,
    )
    log = ExportLog.objects.create(
        requested_by=user,
        via=via,
        study=study,
        options=options.as_dict(),
        status=ExportStatus.AWAITING_APPROVAL if include_free_text else ExportStatus.PENDING,
    )
    log.sites.set(sites)
    _log_access(request, user, log, sites)
    if include_free_text:
        logger.warning(
            "export %s with free text asked by %s, waiting for approval",
            log.pk,
            user.pk if user else None,
        )
        return log, True
    return log, _start(log, options)


def _start(log: ExportLog, options: export.Options) -> bool:
    """Build LOG now when small, else queue it for a worker; returns whether it was queued."""
    rows = export.diary_rows(options.sites, options.cutoff)
    if rows <= settings.EXPORT_INLINE_MAX_ROWS:
        run_export(log.pk)
        log.refresh_from_db()
        return False
    transaction.on_commit(lambda: queueing.enqueue(queueing.RUN_EXPORT, str(log.pk)))
    return True


def awaiting_approval_by(user: User) -> QuerySet[ExportLog]:
    """Exports with free text that USER may approve: of a site they administer, not yet
    approved for it, and not asked by themselves (approval is a second person's)."""
    if not user.is_authenticated or not user.is_active:
        return ExportLog.objects.none()
    return (
        ExportLog.objects.filter(
            status=ExportStatus.AWAITING_APPROVAL, sites__in=user.admin_sites()
        )
        .exclude(requested_by=user)
        .exclude(approvals__approved_by=user)
        .distinct()
    )


def missing_approvals(log: ExportLog) -> list:
    approved = set(log.approvals.values_list("site_id", flat=True))
    return [site for site in log.sites.order_by("code") if site.pk not in approved]


def approve(user: User, log: ExportLog, request=None) -> bool:
    """USER approves LOG's free text for the sites of it they administer; once every site has,
    the export is built. Returns whether it was started. The caller has checked that LOG is in
    awaiting_approval_by(USER)."""
    with transaction.atomic():
        log = ExportLog.objects.select_for_update().get(pk=log.pk)
        if log.status != ExportStatus.AWAITING_APPROVAL or log.requested_by_id == user.pk:
            return False
        for site in missing_approvals(log):
            if user.admin_sites().filter(pk=site.pk).exists():
                ExportApproval.objects.create(export=log, site=site, approved_by=user)
                log_access(
                    request,
                    AccessAction.EXPORT,
                    site=site,
                    user=user,
                    what="research_export_free_text_approved",
                    obj=log,
                )
        if missing_approvals(log):
            return False
        ExportLog.objects.filter(pk=log.pk).update(status=ExportStatus.PENDING)
    logger.warning("export %s with free text approved; building", log.pk)
    if not _start(log, options_of(log)):
        log.refresh_from_db()
        send_export_ready(log)  # built at once, but the requester is not on the page
    return True


def options_of(log: ExportLog) -> export.Options:
    o = log.options
    return export.Options(
        o["study"],
        tuple(o["sites"]),
        date.fromisoformat(o["cutoff"]),
        shift_dates=o.get("shift_dates", False),
        include_free_text=o.get("include_free_text", False),
        k=o.get("k", export.deidentify.DEFAULT_K),
        date_uncertainty_days=o.get("date_uncertainty_days"),
    )


def _counts(manifest: dict) -> dict:
    return {
        **manifest["children"],
        "rows": {name: f["rows"] for name, f in manifest["files"].items() if "rows" in f},
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_export(pk) -> bool:
    """Build the export of log PK into VAR_DIR/exports/. Claims the log first (pending →
    running), so a task delivered twice builds it once. Returns whether it did the work."""
    claimed = ExportLog.objects.filter(pk=pk, status=ExportStatus.PENDING).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return False
    log = ExportLog.objects.get(pk=pk)
    if log.options.get("include_free_text") and missing_approvals(log):
        # Never reached through approve(); a guard should a log be altered by other means.
        _mark_failed(pk, ValueError("free text without every site's approval"))
        return False
    name = f"{log.pk}.zip"
    path = export_dir() / name
    partial = path.with_suffix(".part")
    try:
        with partial.open("wb") as out:
            manifest = export.write_export(out, options_of(log))
        partial.replace(path)
    except Exception as error:
        partial.unlink(missing_ok=True)
        logger.exception("export %s failed", pk)
        _mark_failed(pk, error)
        raise
    _mark_done(pk, manifest, path, file_name=name)
    return True


def _mark_failed(pk, error: Exception) -> None:
    ExportLog.objects.filter(pk=pk).update(
        status=ExportStatus.FAILED, finished_at=timezone.now(), error=str(error)[:2000]
    )


def _mark_done(pk, manifest: dict, path: Path, **fields) -> None:
    """Record what the export at PATH holds, its checksum and size."""
    ExportLog.objects.filter(pk=pk).update(
        status=ExportStatus.DONE,
        finished_at=timezone.now(),
        counts=_counts(manifest),
        checksum=file_sha256(path),
        size=path.stat().st_size,
        **fields,
    )


def _log_access(request, user, log: ExportLog, sites) -> None:
    """One access-log row per site, so each site's administrators see the export."""
    for site in sites:
        log_access(
            request,
            AccessAction.EXPORT,
            site=site,
            user=user,
            what=f"research_export_{log.via}",
            obj=log,
            free_text=bool(log.options.get("include_free_text")),
        )


def log_command_export(
    user: User | None, study: Study, sites: list[Site], options: export.Options, out: Path
) -> ExportLog:
    """Build the export into OUT (the command line) and log it. Free text needs approval,
    which the command line cannot give."""
    if options.include_free_text:
        raise ValueError("free text needs a site administrator's approval")
    log = ExportLog.objects.create(
        requested_by=user,
        via="command",
        study=study,
        options=options.as_dict(),
        status=ExportStatus.RUNNING,
        started_at=timezone.now(),
    )
    log.sites.set(sites)
    if user is not None:
        _log_access(None, user, log, sites)
    try:
        with out.open("wb") as handle:
            manifest = export.write_export(handle, options)
    except Exception as error:
        _mark_failed(log.pk, error)
        raise
    _mark_done(log.pk, manifest, out)
    log.refresh_from_db()
    return log


# --- Email ------------------------------------------------------------------------------------


def send_export_ready(log: ExportLog) -> bool:
    """Tell the requester their export can be downloaded (a link; the file needs their login)."""
    user = log.requested_by
    if user is None or not user.email:
        return False
    link = settings.SITE_URL + reverse("export_download", args=[log.pk])
    emails.send(
        "export_ready",
        user.email,
        {"log": log, "link": link, "user": user, "study": log.study},
        user.language,
    )
    return True
