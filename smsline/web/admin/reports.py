"""The monthly report for funders (/admin/reports): counts and rates only, small cells suppressed,
as a printable page and as CSV. The figures come from smsline/reports.py."""

from __future__ import annotations

from flask import Response, abort, render_template, request, url_for

from smsline import db, reports
from smsline.models import utcnow
from smsline.web.admin import bp, requires


def _report(month: str) -> reports.Report:
    try:
        return reports.monthly(db.get_session(), month)
    except ValueError:
        abort(404)


@bp.get("/reports")
@requires("viewer")
def reports_page() -> str:
    """The report of ?month=YYYY-MM (last month by default, in the line's time zone)."""
    month = request.args.get("month") or reports.default_month(db.get_session(), utcnow())
    report = _report(month)
    return render_template(
        "admin/reports.html",
        report=report,
        csv_url=url_for("admin.report_csv", month=report.month),
        small=reports.SMALL_TEXT,
    )


@bp.get("/reports/<month>.csv")
@requires("viewer")
def report_csv(month: str) -> Response:
    """The same figures as CSV, for a spreadsheet."""
    report = _report(month)
    return Response(
        reports.to_csv(report),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="smsline-report-{report.month}.csv"'
        },
    )
