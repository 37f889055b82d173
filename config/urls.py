from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path, register_converter
from django.urls.converters import StringConverter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.api import NotFoundView
from config.views import bench_ping, favicon, healthz
from diary import access_views, assessment_views, entry_views, erasure_views, pwa, signin_views
from diary import views as diary_views
from diary.access import not_logged
from diary.api.token import TokenLogoutView, TokenView
from diary.api.views import DayView
from exchange import views as portability_views
from outcomes import lab_views, research_views
from outcomes import views as outcome_views
from outcomes.api.fhir import FHIRExportView, FHIRLabsImportView
from outcomes.api.views import (
    CohortSummaryView,
    FlagsView,
    GuidelineDoseView,
    PhasesView,
    ScheduleView,
    ScreeningView,
)


class ChartFormat(StringConverter):
    regex = "svg|png"


register_converter(ChartFormat, "chart")

urlpatterns = [
    path("", diary_views.home, name="home"),
    path("children/new/", diary_views.child_create, name="child_create"),
    path("children/<int:pk>/", diary_views.child_detail, name="child_detail"),
    path("children/<int:pk>/diary/", entry_views.day_page, name="day"),
    path("children/<int:pk>/diary/days/", entry_views.days_page, name="days"),
    path("children/<int:pk>/diary/offline/", entry_views.offline_day_page, name="day_offline"),
    path("children/<int:pk>/treatment/", outcome_views.treatment_page, name="treatment"),
    path(
        "children/<int:pk>/treatment/prescriptions/new/",
        outcome_views.prescription_create,
        name="prescription_create",
    ),
    path(
        "children/<int:pk>/treatment/steroids/new/",
        outcome_views.steroid_prescription_create,
        name="steroid_prescription_create",
    ),
    path("children/<int:pk>/treatment/markers/", outcome_views.markers_edit, name="markers_edit"),
    path(
        "children/<int:pk>/treatment/medicines/",
        outcome_views.medicine_create,
        name="medicine_create",
    ),
    path(
        "children/<int:pk>/treatment/screening/",
        outcome_views.screening_create,
        name="screening_create",
    ),
    path(
        "children/<int:pk>/treatment/creatinine/",
        outcome_views.creatinine_create,
        name="creatinine_create",
    ),
    path(
        "children/<int:pk>/chart.<chart:fmt>",
        outcome_views.timeline_chart_view,
        name="timeline_chart",
    ),
    path(
        "children/<int:pk>/chart-phone.svg",
        outcome_views.timeline_chart_view,
        {"fmt": "phone"},
        name="timeline_chart_phone",
    ),
    path("children/<int:pk>/timeline.csv", outcome_views.timeline_csv_view, name="timeline_csv"),
    path("children/<int:pk>/report.pdf", outcome_views.visit_report_view, name="visit_report"),
    path(
        "children/<int:pk>/summary.pdf",
        outcome_views.family_summary_view,
        name="family_summary",
    ),
    path("children/<int:pk>/assessments/", assessment_views.assessments_page, name="assessments"),
    path(
        "children/<int:pk>/assessments/<int:assessment_pk>/",
        assessment_views.assessments_page,
        name="assessment_edit",
    ),
    path(
        "children/<int:pk>/growth.<chart:fmt>",
        outcome_views.growth_chart_view,
        name="growth_chart",
    ),
    path("children/<int:pk>/labs/", lab_views.labs_page, name="labs"),
    path("children/<int:pk>/labs/new/", lab_views.lab_panel_create, name="lab_panel_create"),
    path("children/<int:pk>/labs/fhir/", lab_views.lab_fhir_import, name="lab_fhir_import"),
    path("flags/<int:pk>/acknowledge/", lab_views.flag_acknowledge, name="flag_acknowledge"),
    path("account/reminders/", lab_views.reminder_preferences, name="reminder_preferences"),
    path(
        "account/reminders/notifications/",
        lab_views.push_subscribe,
        name="push_subscribe",
    ),
    path(
        "account/reminders/notifications/off/",
        lab_views.push_unsubscribe,
        name="push_unsubscribe",
    ),
    path(
        "account/reminders/notifications/<int:pk>/remove/",
        lab_views.push_device_remove,
        name="push_device_remove",
    ),
    path("unsubscribe/<str:token>/", lab_views.unsubscribe, name="unsubscribe"),
    path("cohort/", outcome_views.cohort_page, name="cohort"),
    path("cohort/chart.<chart:fmt>", outcome_views.cohort_chart, name="cohort_chart"),
    path(
        "cohort/outcomes.<chart:fmt>",
        outcome_views.cohort_outcomes_chart,
        name="cohort_outcomes_chart",
    ),
    path("dashboard/", outcome_views.dashboard, name="dashboard"),
    path("children/<int:pk>/edit/", diary_views.child_edit, name="child_edit"),
    path("children/<int:pk>/data.zip", portability_views.child_download, name="child_download"),
    path("sites/<slug:code>/data/", portability_views.site_data, name="site_data"),
    path("sites/<slug:code>/data/export.zip", portability_views.site_export, name="site_export"),
    path("sites/<slug:code>/data/import/", portability_views.site_import, name="site_import"),
    path("children/<int:pk>/invite/", diary_views.child_invite, name="child_invite"),
    path("children/<int:pk>/erase/", erasure_views.child_erase, name="child_erase"),
    path("sites/<slug:code>/members/", diary_views.site_members, name="site_members"),
    path(
        "sites/<slug:code>/members/<int:membership_pk>/remove/",
        diary_views.site_member_remove,
        name="site_member_remove",
    ),
    path("sites/<slug:code>/studies/", research_views.site_studies, name="site_studies"),
    path(
        "sites/<slug:code>/studies/links/<int:link_pk>/remove/",
        research_views.study_unlink,
        name="study_unlink",
    ),
    path(
        "sites/<slug:code>/studies/requests/<int:request_pk>/<str:decision>/",
        research_views.study_join_decide,
        name="study_join_decide",
    ),
    path("exports/", research_views.exports_page, name="exports"),
    path("exports/<uuid:pk>/download/", research_views.export_download, name="export_download"),
    path("exports/<uuid:pk>/approve/", research_views.export_approve, name="export_approve"),
    path("children/<int:pk>/access/", access_views.child_access, name="child_access"),
    path("sites/<slug:code>/access/", access_views.site_access, name="site_access"),
    path("invitations/<int:pk>/revoke/", diary_views.revoke_invitation, name="revoke_invitation"),
    path("accounts/invite/<str:token>/", diary_views.accept_invitation, name="accept_invitation"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/two-factor/", signin_views.two_factor, name="two_factor"),
    path("accounts/two-factor/setup/", signin_views.two_factor_setup, name="two_factor_setup"),
    path("account/security/", signin_views.account_security, name="account_security"),
    path(
        "account/security/backup-codes/",
        signin_views.backup_codes_renew,
        name="backup_codes_renew",
    ),
    path("account/security/off/", signin_views.two_factor_disable, name="two_factor_disable"),
    path(
        "account/security/devices/<str:digest>/revoke/",
        signin_views.device_revoke,
        name="device_revoke",
    ),
    path(
        "account/security/devices/revoke-all/",
        signin_views.devices_revoke_all,
        name="devices_revoke_all",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/setlang/", diary_views.set_language, name="set_language"),
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", favicon, name="favicon"),
    path("bench/ping", bench_ping, name="bench_ping"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("api/auth/token/", TokenView.as_view(), name="api_token"),
    path("api/auth/token/logout/", TokenLogoutView.as_view(), name="api_token_logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's page keeps a <style> block and data: icons; its script is a separate file.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE], "img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api_docs",
    ),
    path("api/children/<int:pk>/phases/", PhasesView.as_view(), name="api_phases"),
    path("api/children/<int:pk>/schedule/", ScheduleView.as_view(), name="api_schedule"),
    path("api/days/", DayView.as_view(), name="api_days"),
    path("api/children/<int:pk>/flags/", FlagsView.as_view(), name="api_flags"),
    path("api/children/<int:pk>/screening/", ScreeningView.as_view(), name="api_screening"),
    # Logged as an export (with its DataTransfer row), not also as a read.
    path("api/children/<int:pk>/fhir/", not_logged(FHIRExportView.as_view()), name="api_fhir"),
    path("api/children/<int:pk>/fhir/labs/", FHIRLabsImportView.as_view(), name="api_fhir_labs"),
    path("api/guideline/dose/", GuidelineDoseView.as_view(), name="api_guideline_dose"),
    path("api/cohort/summary/", CohortSummaryView.as_view(), name="api_cohort_summary"),
    path("api/", include("config.api_router")),
    re_path(r"^api/", NotFoundView.as_view(), name="api_not_found"),
    path("admin/", admin.site.urls),
]
