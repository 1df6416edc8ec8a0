"""A flow drawn as SVG by Graphviz (`dot -Tsvg`): a box per state, an arrow per route, choice
and timeout. Every label is escaped for DOT, and pages show the SVG as an image, so nothing in a
flow can run as script."""

from __future__ import annotations

import shutil
import subprocess

from smsline.engine.format import Flow

DOT_SECONDS = 10
MAX_LABEL = 40


class DiagramUnavailable(RuntimeError):
    """Graphviz is not installed, or it failed."""


def available() -> bool:
    return shutil.which("dot") is not None


def quote(text: str) -> str:
    """`text` as a DOT quoted string: backslashes and quotes escaped (so no \\N or \\l escape
    sequences reach Graphviz), line breaks and control characters flattened, long text cut."""
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1] + "…"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_source(flow: Flow) -> str:
    """The flow in Graphviz's DOT language."""
    lines = [
        "digraph flow {",
        '  graph [rankdir=TB, fontname="sans-serif", bgcolor="white"];',
        '  node [shape=box, style="rounded", fontname="sans-serif", fontsize=11];',
        '  edge [fontname="sans-serif", fontsize=9];',
    ]
    for state in flow.states.values():
        label = state.name
        if state.wait is not None:
            label += f"\nwaits: {state.wait.answer}"
        ends = [call.name for call in state.actions if call.name in ("end", "start_flow")]
        if ends:
            label += f"\n{ends[0]}"
        shape = ', penwidth=2, color="#1a5fb4"' if state.name == flow.start else ""
        lines.append(f"  {quote(state.name)} [label={_multiline(label)}{shape}];")
    for state in flow.states.values():
        targets = set(flow.states)
        if state.wait is not None:
            for option in state.wait.options:
                if option.goto in targets:
                    text = f"{option.digit}: {option.value}"
                    lines.append(
                        f"  {quote(state.name)} -> {quote(option.goto)} [label={quote(text)}];"
                    )
            if state.wait.on_timeout in targets:
                lines.append(
                    f"  {quote(state.name)} -> {quote(state.wait.on_timeout)}"
                    ' [label="timeout", style=dashed];'
                )
        for route in state.routes:
            if route.goto in targets:
                text = route.when or ""
                lines.append(f"  {quote(state.name)} -> {quote(route.goto)} [label={quote(text)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _multiline(text: str) -> str:
    """A quoted label whose parts sit on their own lines (DOT's \\n, added after escaping)."""
    return '"' + "\\n".join(quote(part)[1:-1] for part in text.split("\n")) + '"'


def svg(flow: Flow) -> str:
    """The flow as an SVG document; DiagramUnavailable without Graphviz."""
    if not available():
        raise DiagramUnavailable("the diagram needs Graphviz (`dot`), not installed here")
    try:
        result = subprocess.run(
            ["dot", "-Tsvg"],
            input=dot_source(flow).encode(),
            capture_output=True,
            timeout=DOT_SECONDS,
            check=True,
        )
    except (subprocess.SubprocessError, OSError) as error:
        raise DiagramUnavailable(f"Graphviz failed: {type(error).__name__}") from None
    return result.stdout.decode("utf-8")
