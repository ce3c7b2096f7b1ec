"""`interlace check`, `test`, `init` and `diff`: is the process clear enough to automate, does each
flow do what its tests say, a first config from six answers, and what a config change will do."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
import yaml
from pydantic import ValidationError

from interlace.errors import ConfigError

ConfigArg = Annotated[Path, typer.Argument(help="The hub config file (hub.yaml).")]


def _problems(config: Path, exc: ConfigError) -> typer.Exit:
    lines = [f"{config}: {len(exc.problems)} problem(s)", *(f"  {p}" for p in exc.problems)]
    sys.stderr.write("\n".join(lines) + "\n")
    return typer.Exit(2)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        sys.stderr.write(f"wrote {output}\n")


def check(
    config: ConfigArg,
    format: Annotated[
        Literal["text", "json", "html"], typer.Option("--format", "-f", help="text, json or html.")
    ] = "text",
    offline: Annotated[bool, typer.Option(help="Do not probe the systems.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds each system probe may take.")] = 3.0,
) -> None:
    """Readiness report over the six questions and the technical ones; exit 1 when there are errors."""
    from interlace.readiness.html import as_html
    from interlace.readiness.loading import load_for_check
    from interlace.readiness.render import as_json, as_text
    from interlace.readiness.report import run_checks

    try:
        loaded, unset = load_for_check(config)
    except ConfigError as exc:
        raise _problems(config, exc) from None
    report = run_checks(loaded, offline=offline, timeout=timeout, unset_secrets=unset)
    render = {"text": as_text, "json": as_json, "html": as_html}[format]
    _write(render(report), output)
    if report.errors:
        raise typer.Exit(1)


def test(
    config: ConfigArg,
    junit: Annotated[Path | None, typer.Option(help="Also write a JUnit XML report here.")] = None,
    flow: Annotated[str | None, typer.Option(help="Only this flow's tests.")] = None,
) -> None:
    """Run each flow's `tests:` with the systems replaced by in-memory fakes; exit 1 on a failure."""
    from interlace.readiness.loading import load_for_check
    from interlace.testing.junit import as_junit
    from interlace.testing.runner import run_tests

    try:
        loaded, _ = load_for_check(config)
    except ConfigError as exc:
        raise _problems(config, exc) from None
    if flow is not None and flow not in loaded.config.flows:
        sys.stderr.write(f"no flow named {flow!r}; flows: {', '.join(loaded.config.flows)}\n")
        raise typer.Exit(2)
    results = run_tests(loaded, flow=flow)
    for r in results:
        status = "ok" if r.ok else "ERROR" if r.error else "FAIL"
        sys.stdout.write(f"{status:5} {r.flow} :: {r.test}\n")
        for line in [r.error] if r.error else r.failures:
            sys.stdout.write(f"      flow {r.flow!r}, test {r.test!r}: {line}\n")
    failed = sum(1 for r in results if not r.ok)
    untested = [n for n, f in loaded.config.flows.items() if not f.tests and (flow is None or n == flow)]
    sys.stdout.write(
        f"{len(results)} test(s), {failed} failed"
        + (f"; flows with no tests: {', '.join(untested)}" if untested else "")
        + "\n"
    )
    if junit is not None:
        junit.write_text(as_junit(results, name=loaded.config.hub.name))
    if failed:
        raise typer.Exit(1)


def init(
    answers_file: Annotated[Path | None, typer.Option("--from", help="A YAML file of answers (no questions).")] = None,
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the files.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Ask the six questions for a first flow and write hub.yaml, an entity schema and a flow test."""
    from interlace.scaffold.answers import Answers
    from interlace.scaffold.questions import ask
    from interlace.scaffold.write import ScaffoldError, scaffold

    try:
        if answers_file is not None:
            answers = Answers.model_validate(yaml.safe_load(answers_file.read_text()) or {})
        else:
            answers = ask(typer.prompt, typer.echo)
        written = scaffold(answers, directory, overwrite=force)
    except ValidationError as exc:
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "answers"
            sys.stderr.write(f"{answers_file or 'answers'}: {where}: {e['msg']}\n")
        raise typer.Exit(2) from None
    except (OSError, yaml.YAMLError, ScaffoldError, ValueError) as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(2) from None
    for path in written:
        sys.stdout.write(f"wrote {path}\n")
    hub = directory / "hub.yaml"
    sys.stdout.write(f"next: interlace check {hub} --offline; interlace test {hub}; interlace run {hub}\n")


def diff(
    old: Annotated[Path, typer.Argument(help="The config running now.")],
    new: Annotated[Path, typer.Argument(help="The config about to be deployed.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What changing OLD into NEW will do: flows, mappings, field owners, systems (secrets redacted)."""
    from interlace.config.diff import diff_files

    try:
        changes = diff_files(old, new)
    except ConfigError as exc:
        raise _problems(old, exc) from None
    if as_json:
        sys.stdout.write(json.dumps([c.as_dict() for c in changes], indent=2, default=str) + "\n")
        return
    if not changes:
        sys.stdout.write("no changes\n")
        return
    sys.stdout.write(f"{len(changes)} change(s) from {old} to {new}\n")
    titles = {
        "flow": "flows",
        "mapping": "mappings",
        "field-owner": "who owns what",
        "entity": "entities",
        "system": "systems",
        "owner": "exception owners",
        "hub": "hub settings",
    }
    for area, title in titles.items():
        mine = [c for c in changes if c.area == area]
        if mine:
            sys.stdout.write(f"\n{title}:\n" + "".join(f"  {c}\n" for c in mine))


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(test)
    app.command()(init)
    app.command()(diff)
