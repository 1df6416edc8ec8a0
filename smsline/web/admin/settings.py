"""/admin/settings: the line's operating settings (smsline/settings.py: defaults in code, changes
in the settings table), each with its current value and its default. Changing one is for the
admin role only: crisis phrases and replies, the HELP answer and the texting window are safety
and compliance matters. A value is parsed and checked by the same code as `smsline settings
set`; a refused one comes back with the reason. Every change is audited with its old and new
value (no setting is a secret: they are texts and numbers members may see or feel)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from smsline import db
from smsline import settings as line_settings
from smsline.models import Setting
from smsline.web.admin import bp, requires
from smsline.web.admin.roster import actor

LONG_TEXT = 60  # longer defaults get a text area


def as_text(value: Any) -> str:
    """A value as it is typed into the form (a list: one phrase a line)."""
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return str(value)


def _rows(errors: dict[str, str], typed: dict[str, str]) -> list[dict[str, Any]]:
    session = db.get_session()
    line_settings.forget()  # this page shows what is stored now, not a few seconds ago
    values = line_settings.all_values(session)
    stored = {row.key: row for row in session.scalars(select(Setting))}
    rows = []
    for key, definition in line_settings.DEFINITIONS.items():
        value = values[key]
        rows.append(
            {
                "key": key,
                "help": definition.help,
                "value": value,
                "shown": json.dumps(value, ensure_ascii=False)
                if isinstance(value, list)
                else value,
                "default": definition.default,
                "changed": value != definition.default,
                "by": stored[key].updated_by if key in stored else None,
                "at": stored[key].updated_at if key in stored else None,
                "typed": typed.get(key, as_text(value)),
                "long": isinstance(definition.default, list)
                or len(str(definition.default)) > LONG_TEXT,
                "error": errors.get(key),
            }
        )
    return rows


@bp.get("/settings")
@requires("viewer")
def settings_page() -> str:
    return render_template("admin/settings.html", rows=_rows({}, {}))


@bp.post("/settings/<key>")
@requires("admin")
def setting_change(key: str) -> Response | tuple[str, int]:
    """Change one setting; a value that does not parse is refused, saying what would fit."""
    if key not in line_settings.DEFINITIONS:
        abort(404)
    raw = request.form.get("value")
    if raw is None:
        abort(400)
    session = db.get_session()
    before = line_settings.all_values(session)[key]
    try:
        parsed = line_settings.DEFINITIONS[key].parse(raw)
        if parsed == before:
            flash(f"{key}: unchanged.")
            return redirect(url_for("admin.settings_page") + f"#{key}")
        line_settings.set_value(session, key, raw, actor=actor())
    except line_settings.SettingError as error:
        session.rollback()
        page = render_template(
            "admin/settings.html", rows=_rows({key: str(error)}, {key: raw}), failed=key
        )
        return page, 422
    session.commit()
    line_settings.forget()
    flash(f"{key} changed.")
    return redirect(url_for("admin.settings_page") + f"#{key}")
