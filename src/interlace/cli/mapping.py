"""`interlace map`: a flow's mapping (or any expression) evaluated against a sample, from the
command line: the result, or the error with where in the expression it happened."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from interlace.cli.readiness import ConfigArg, _problems
from interlace.errors import ConfigError, MappingError


def _data(data: str | None, given: Any) -> Any:
    if data is None:
        if given is None:
            raise typer.BadParameter("give --data (JSON, @file.json or - for stdin): the flow has no test sample")
        return given
    text = sys.stdin.read() if data == "-" else Path(data[1:]).read_text() if data.startswith("@") else data
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--data is not JSON: {exc}") from None


def _caret(source: str, position: int | None) -> str:
    """The line of `source` where `position` falls, and a caret under it."""
    if position is None:
        return ""
    position = max(0, min(position, len(source)))
    start = source.rfind("\n", 0, max(position - 1, 0)) + 1
    end = source.find("\n", start)
    line = source[start : end if end >= 0 else len(source)]
    column = max(position - start - 1, 0)
    return f"  {line}\n  {' ' * column}^\n"


def map_command(
    config: ConfigArg,
    flow: Annotated[str, typer.Argument(help="The flow whose mapping to evaluate.")],
    data: Annotated[
        str | None,
        typer.Option(help="The sample body: JSON text, @file.json, or - for stdin (default: the flow's first test)."),
    ] = None,
    expr: Annotated[str | None, typer.Option(help="Evaluate this expression instead of the flow's map.")] = None,
    step: Annotated[int | None, typer.Option(help="The map step to use, by position in the flow (0-based).")] = None,
) -> None:
    """Evaluate FLOW's map step (or --expr) against a sample and print the result as JSON; exit 1
    with the error, and where in the expression it is, when the expression fails."""
    from interlace.config.models import MapStep
    from interlace.mapping.jsonata import Expression
    from interlace.readiness.loading import load_for_check

    try:
        loaded, _ = load_for_check(config)
    except ConfigError as exc:
        raise _problems(config, exc) from None
    spec = loaded.config.flows.get(flow)
    if spec is None:
        sys.stderr.write(f"no flow named {flow!r}; flows: {', '.join(loaded.config.flows)}\n")
        raise typer.Exit(2)
    if expr is None:
        maps = [(i, s.map) for i, s in enumerate(spec.steps) if isinstance(s, MapStep) and (step is None or i == step)]
        if not maps:
            sys.stderr.write(f"flow {flow!r} has no map step{'' if step is None else f' at position {step}'}\n")
            raise typer.Exit(2)
        position, source = maps[0]
        label = f"flows.{flow}.steps.{position}.map"
    else:
        source, label = expr, "--expr"
    given = spec.tests[0].given if spec.tests else None
    body = _data(data, given)
    bindings: dict[str, Any] = {"message": {"id": "sample", "event": spec.trigger.event, "source": spec.trigger.system,
                            "key": None, "headers": {}}}  # fmt: skip
    try:
        expression = Expression(source)
        engine = "compiled" if expression.fallback is None else f"jsonatapy ({expression.fallback})"
        sys.stderr.write(f"{label}: {engine}\n")
        result = expression.evaluate(body, bindings)
    except MappingError as exc:
        sys.stderr.write(f"{label}: {exc}\n{_caret(source, exc.position)}")
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


def register(app: typer.Typer) -> None:
    app.command("map")(map_command)
