"""/admin/flows: the flows and their versions; an editor with live validation, a diagram and a
simulator of the draft; publish (refused if someone published meanwhile), diff and rollback.
Every publish and rollback is audited with who did it."""

from __future__ import annotations

import difflib
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from smsline import audit, db, flowstore
from smsline.engine import format as flow_format
from smsline.engine import validate
from smsline.engine.format import Flow, FlowError
from smsline.engine.problems import Problem
from smsline.models import FlowVersion
from smsline.web.admin import bp, diagram, requires, sandbox

SOURCE = "<editor>"
MAX_TEXT = validate.MAX_FILE_CHARS


def _actor() -> str:
    return f"admin:{current_user.email}"[:80]


def _version(name: str, version: int) -> FlowVersion:
    row = db.get_session().scalar(
        select(FlowVersion).where(FlowVersion.name == name, FlowVersion.version == version)
    )
    if row is None:
        abort(404)
    return row


def _versions(name: str) -> list[FlowVersion]:
    return list(
        db.get_session().scalars(
            select(FlowVersion).where(FlowVersion.name == name).order_by(FlowVersion.version.desc())
        )
    )


def check_draft(text: str) -> tuple[Flow | None, list[Problem]]:
    """The draft's flow (as far as it builds) and its problems, from the validator that
    `smsline flows validate` runs."""
    try:
        data, lines = validate.read_yaml(text, SOURCE)
    except FlowError as error:
        return None, error.problems
    flow, _shape = flow_format.build(data, SOURCE, lines)
    return flow, validate.validate_text(text, SOURCE)


def problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "line": problem.line,
        "severity": problem.severity,
        "state": problem.state,
        "field": problem.field,
        "message": str(problem)
        .removeprefix(f"{SOURCE}:{problem.line}: ")
        .removeprefix(f"{SOURCE}: "),
    }


def _draft_text() -> str:
    """The `text` of a JSON or form request, bounded."""
    data = request.get_json(silent=True) if request.is_json else request.form
    text = (data or {}).get("text")
    if not isinstance(text, str):
        abort(400)
    if len(text) > MAX_TEXT:
        abort(413)
    return text.replace("\r\n", "\n")


@bp.get("/flows")
@requires("viewer")
def flows() -> str:
    session = db.get_session()
    latest = (
        select(FlowVersion.name, func.max(FlowVersion.version).label("version"))
        .group_by(FlowVersion.name)
        .subquery()
    )
    rows = session.execute(
        select(FlowVersion)
        .join(
            latest,
            (FlowVersion.name == latest.c.name) & (FlowVersion.version == latest.c.version),
        )
        .order_by(FlowVersion.name)
    ).scalars()
    return render_template("admin/flows.html", flows=list(rows))


@bp.get("/flows/<name>")
@requires("viewer")
def flow(name: str) -> str:
    versions = _versions(name)
    if not versions:
        abort(404)
    latest = versions[0]
    shown = latest
    if request.args.get("version", "").isdigit():
        shown = _version(name, int(request.args["version"]))
    return render_template(
        "admin/flow.html",
        name=name,
        versions=versions,
        latest=latest,
        shown=shown,
        text=shown.source_text,
        base_version=latest.version,
        problems=[],
        diagram_ready=diagram.available(),
    )


@bp.get("/flows/<name>/v<int:version>/diagram.svg")
@requires("viewer")
def flow_diagram(name: str, version: int) -> Response:
    """A published version drawn as SVG (shown by the page as an image)."""
    row = _version(name, version)
    flow, _problems = check_draft(row.source_text)
    if flow is None:
        abort(404)
    try:
        drawing = diagram.svg(flow)
    except diagram.DiagramUnavailable:
        abort(404)
    return Response(drawing, mimetype="image/svg+xml")


@bp.post("/flows/<name>/check")
@requires("viewer")
def check(name: str) -> Response:
    """Validate a draft as the editor types: {problems: [{line, severity, message}], svg}."""
    flow, problems = check_draft(_draft_text())
    if flow is not None and flow.name != name:
        problems.insert(0, _wrong_name(flow.name, name))
    svg = None
    if flow is not None:
        try:
            svg = diagram.svg(flow)
        except diagram.DiagramUnavailable:
            svg = None
    return jsonify(problems=[problem_json(p) for p in problems], svg=svg)


def _wrong_name(found: str, name: str) -> Problem:
    return Problem(SOURCE, None, None, "flow", found, f"this page edits the flow '{name}'")


@bp.post("/flows/<name>/simulate")
@requires("viewer")
def simulate(name: str) -> Response:
    """One turn of the draft in memory: nothing stored, nothing sent."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        abort(400)
    flow, problems = check_draft(data["text"][:MAX_TEXT])
    if flow is None or any(p.severity == "error" for p in problems):
        return _json_error(422, "fix the errors in the draft first")
    try:
        result = sandbox.turn(
            flow,
            language=str(data.get("language", "en")),
            channel=str(data.get("channel", "sms")),
            position=sandbox.position_from(data.get("position"), flow),
            kind=str(data.get("kind", "start")),
            text=str(data.get("input", "")),
        )
    except sandbox.BadTurn as error:
        return _json_error(400, str(error))
    return jsonify(result)


def _json_error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


@bp.post("/flows/<name>/publish")
@requires("coordinator")
def publish(name: str) -> Response | tuple[str, int]:
    """Publish the draft as a new version, unless someone else published since the editor
    opened (the form carries the version it was based on)."""
    text = _draft_text()
    base = request.form.get("base_version", "")
    if not base.isdigit():
        abort(400)
    flow, problems = check_draft(text)
    if flow is not None and flow.name != name:
        problems.insert(0, _wrong_name(flow.name, name))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return _editor_again(
            name, text, int(base), errors, "Not published: fix the errors first.", 422
        )
    session = db.get_session()
    try:
        synced = flowstore.publish(
            session, text, actor=_actor(), expected_version=int(base), source=SOURCE
        )
    except ValueError as error:  # FlowError is a ValueError too, but the text was checked
        session.rollback()
        message = f"Not published: {error}. Your draft is below; compare it with the new version."
        return _editor_again(name, text, int(base), [], message, 409)
    session.commit()
    if synced.changed:
        flash(f"Published {name} version {synced.version}.")
    else:
        flash("Nothing to publish: the draft is the same as the latest version.")
    return redirect(url_for("admin.flow", name=name))


def _editor_again(
    name: str, text: str, base: int, problems: list[Problem], message: str, status: int
) -> tuple[str, int]:
    versions = _versions(name)
    if not versions:
        abort(404)
    page = render_template(
        "admin/flow.html",
        name=name,
        versions=versions,
        latest=versions[0],
        shown=versions[0],
        text=text,
        base_version=base,
        problems=[problem_json(p) for p in problems],
        message=message,
        diagram_ready=diagram.available(),
    )
    return page, status


@bp.post("/flows/<name>/rollback")
@requires("coordinator")
def rollback(name: str) -> Response:
    """Publish an old version's text as a new version (audited as a rollback)."""
    version, base = request.form.get("version", ""), request.form.get("base_version", "")
    if not version.isdigit() or not base.isdigit():
        abort(400)
    old = _version(name, int(version))
    session = db.get_session()
    try:
        synced = flowstore.publish(
            session, old.source_text, actor=_actor(), expected_version=int(base), source=SOURCE
        )
    except ValueError as error:
        session.rollback()
        flash(f"Not rolled back: {error}.")
        return redirect(url_for("admin.flow", name=name))
    if synced.changed:
        audit.record(
            session,
            actor=_actor(),
            action="flow.rollback",
            subject_type="flow",
            reason=f"{name} v{version} republished as v{synced.version}",
            details={"from_version": int(version), "new_version": synced.version},
        )
        flash(f"Rolled back: version {version} is now published as version {synced.version}.")
    else:
        flash(f"Version {version} is already the latest text: nothing to roll back.")
    session.commit()
    return redirect(url_for("admin.flow", name=name))


@bp.get("/flows/<name>/diff")
@requires("viewer")
def diff(name: str) -> str:
    """The unified diff between two versions (?a=&b=; default: the latest against the one before)."""
    versions = _versions(name)
    if not versions:
        abort(404)
    numbers = [row.version for row in versions]
    b = int(request.args["b"]) if request.args.get("b", "").isdigit() else numbers[0]
    default_a = numbers[1] if len(numbers) > 1 else numbers[0]
    a = int(request.args["a"]) if request.args.get("a", "").isdigit() else default_a
    old, new = _version(name, a), _version(name, b)
    lines = list(
        difflib.unified_diff(
            old.source_text.splitlines(),
            new.source_text.splitlines(),
            fromfile=f"{name} v{a}",
            tofile=f"{name} v{b}",
            lineterm="",
        )
    )
    return render_template("admin/diff.html", name=name, a=a, b=b, lines=lines, numbers=numbers)
