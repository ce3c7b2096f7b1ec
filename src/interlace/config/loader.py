"""Loads `hub.yaml`: parse with line numbers, resolve secrets, validate the models, then check
every cross-reference (connectors, systems, entities, owners, flows, JSONata). Every problem is
collected and reported together, each with its YAML path and line."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from interlace.config.agents import check_agents
from interlace.config.entities import check_entities
from interlace.config.lines import Path_, dotted, line_of, load_with_lines
from interlace.config.models import (
    EnrichStep,
    FilterStep,
    HubConfig,
    HubSettings,
    MapStep,
    RouteStep,
    SplitStep,
    System,
    Task,
    TaskStep,
    ValidateStep,
)
from interlace.config.secrets import SecretMissing, resolve_string
from interlace.connectors import registry
from interlace.errors import ConfigError, ConfigProblem, MappingError
from interlace.mapping.jsonata import compile_expression
from interlace.types import JSON, JSONObject


@dataclass
class LoadedConfig:
    """A config that passed every check, with the connector models already built."""

    config: HubConfig
    file: Path
    system_settings: dict[str, BaseModel] = field(default_factory=dict)
    trigger_options: dict[str, BaseModel | None] = field(default_factory=dict)
    delivery_options: dict[tuple[str, int], BaseModel] = field(default_factory=dict)
    schemas: dict[str, JSONObject] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.file.parent


_SECTIONS = {"owners": "owner", "systems": "system", "entities": "entity", "flows": "flow", "agents": "agent"}


class _Checker:
    def __init__(self, file: Path, lines: dict[Path_, int]) -> None:
        self.file = file
        self.lines = lines
        self.problems: list[ConfigProblem] = []
        self.written: dict[str, set[str]] = {section: set() for section in _SECTIONS}
        """The names each section of the file has, valid or not."""

    def add(self, loc: Path_, message: str) -> None:
        self.problems.append(ConfigProblem(dotted(loc), message, line_of(self.lines, loc), str(self.file)))

    def dangling(self, loc: Path_, section: str, name: str) -> None:
        """A reference to `name`, which the checked config's `section` lacks: a problem unless
        the file has it, invalid (its own problems are listed already)."""
        if name not in self.written[section]:
            self.add(loc, f"no {_SECTIONS[section]} named {name!r}")

    def pydantic(self, prefix: Path_, exc: ValidationError) -> None:
        for err in exc.errors():
            loc = (*prefix, *err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = f"unknown setting {err['loc'][-1]!r}"
            self.add(loc, msg)

    def model(self, prefix: Path_, model: type[BaseModel], data: dict[str, Any]) -> BaseModel | None:
        try:
            return model.model_validate(data, context={"base_dir": self.file.parent})
        except ValidationError as exc:
            self.pydantic(prefix, exc)
            return None


MissingSecret = Callable[[str], str]


def _resolve_secrets(
    data: JSON, loc: Path_, base_dir: Path, check: _Checker, missing: MissingSecret | None = None
) -> JSON:
    if isinstance(data, str):
        try:
            return resolve_string(data, base_dir, missing)
        except SecretMissing as exc:
            check.add(loc, str(exc))
            return data
    if isinstance(data, dict):
        return {k: _resolve_secrets(v, (*loc, k), base_dir, check, missing) for k, v in data.items()}
    if isinstance(data, list):
        return [_resolve_secrets(v, (*loc, i), base_dir, check, missing) for i, v in enumerate(data)]
    return data


def load_config(
    path: str | Path, *, missing_secret: MissingSecret | None = None, text: str | None = None
) -> LoadedConfig:
    """Load and check a config file; raise ConfigError listing every problem.

    `missing_secret`, when given, stands in for each secret reference that cannot be resolved
    (it gets the reference text and returns a placeholder) instead of that being a problem.
    `text`, when given, is read instead of the file's content (a config version published in the
    store), with paths in it relative to the file's folder as usual."""
    file = Path(path)
    raw, check = _read(file, text)
    data = _resolve_secrets(raw, (), file.parent, check, missing_secret)
    assert isinstance(data, dict)
    for section in _SECTIONS:
        if isinstance(data.get(section), dict):
            check.written[section] = {str(name) for name in data[section]}
    config = _validate_the_rest(data, check)
    if config is None:
        raise ConfigError(check.problems)
    loaded = LoadedConfig(config, file)
    _check_references(loaded, check)
    if check.problems:
        raise ConfigError(check.problems)
    return loaded


def _read(file: Path, text: str | None = None) -> tuple[dict[str, Any], _Checker]:
    """The file's YAML mapping, and a checker that knows its lines; ConfigError if it has none."""
    try:
        if text is None:
            text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem("", f"cannot read config: {exc.strerror}", None, str(file))]
        ) from None
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text: byte {exc.start} is {exc.object[exc.start : exc.start + 1]!r}"
        raise ConfigError([ConfigProblem("", problem, None, str(file))]) from None
    try:
        raw, lines = load_with_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([ConfigProblem("", f"not valid YAML: {exc}", line, str(file))]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([ConfigProblem("", "the config must be a mapping", 1, str(file))])
    return raw, _Checker(file, lines)


def load_hub_settings(path: str | Path) -> HubSettings:
    """Only the `hub` section of a config file (where its store is): what `trace` and `dlq`
    need to inspect a running hub while the rest of the file has problems. ConfigError if the
    section itself has some."""
    file = Path(path)
    raw, check = _read(file)
    section = raw.get("hub", {})
    data = _resolve_secrets(section, ("hub",), file.parent, check, lambda reference: "")
    try:
        settings = HubConfig.model_validate({"hub": data}).hub
    except ValidationError as exc:
        check.pydantic((), exc)
        raise ConfigError(check.problems) from None
    return settings


def _validate_the_rest(data: dict[str, Any], check: _Checker) -> HubConfig | None:
    """The config as models. When parts of it do not fit (a wrong type, an unknown setting),
    their problems are recorded and the parts at fault are left out until the rest fits, so
    that the cross-references of the rest (connectors, JSONata, systems, entities, owners) are
    checked in the same pass: `validate` lists every problem at once."""
    try:
        return HubConfig.model_validate(data)
    except ValidationError as exc:
        check.pydantic((), exc)
        errors = exc.errors()
    rest = copy.deepcopy(data)
    for _ in range(50):
        faults = sorted({_fault(rest, tuple(e["loc"])) for e in errors}, key=len)
        chosen: list[Path_] = []
        for fault in faults:
            if fault and not any(fault[: len(c)] == c for c in chosen):
                chosen.append(fault)
        if not chosen:
            return None
        for fault in chosen:
            _leave_out(rest, fault)
        try:
            config = HubConfig.model_validate(rest)
        except ValidationError as exc:
            errors = exc.errors()
            continue
        systems = data.get("systems")
        if isinstance(systems, dict):  # a system left out still has its connector's settings checked
            _check_raw_systems({k: v for k, v in systems.items() if k not in config.systems}, check)
        return config
    return None


def _fault(data: Any, loc: Path_) -> Path_:
    """The part of `data` that pydantic's error location `loc` points at: the innermost one
    `data` has (a field it lacks stands for the part that should have it; union tags that
    pydantic adds to locations are skipped). An item of a list stands for the list, except a
    step, which is replaced rather than removed (the others keep their positions and lines)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]  # type: ignore[index]
    while path and isinstance(path[-1], int) and not _is_step(tuple(path)):
        path.pop()
    return tuple(path)


def _is_step(path: Path_) -> bool:
    return len(path) == 4 and path[0] == "flows" and path[2] == "steps"


def _leave_out(data: Any, path: Path_) -> None:
    *parents, last = path
    node = data
    for part in parents:
        node = node[part]
    if _is_step(path):
        node[last] = {"filter": "true"}
    else:
        del node[last]


def _check_raw_systems(systems: Any, check: _Checker) -> None:
    """Check the connector settings of systems the config models refused."""
    if not isinstance(systems, dict):
        return
    core = set(System.model_fields)
    for name, raw in systems.items():
        if not isinstance(raw, dict):
            continue
        cls = registry.get(str(raw.get("connector")))
        if cls is not None:
            check.model(("systems", name), cls.settings_model, {k: v for k, v in raw.items() if k not in core})


def _load_schema(entity: str, schema: JSONObject | str, base_dir: Path, check: _Checker) -> JSONObject | None:
    loc: Path_ = ("entities", entity, "schema")
    if isinstance(schema, str):
        try:
            text = (base_dir / schema).read_text()
            loaded = yaml.safe_load(text) if schema.endswith((".yaml", ".yml")) else json.loads(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            check.add(loc, f"cannot load schema file {schema}: {exc}")
            return None
        if not isinstance(loaded, dict):
            check.add(loc, f"schema file {schema} must hold a JSON object")
            return None
        schema = loaded
    # imported here: most configs have no entity schema, and the CLI loads a config on every command
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        check.add(loc, f"not a valid JSON Schema: {exc.message}")
        return None
    return schema


def _check_jsonata(loc: Path_, text: str, check: _Checker) -> None:
    try:
        compile_expression(text)
    except MappingError as exc:
        check.add(loc, str(exc))


def _check_references(loaded: LoadedConfig, check: _Checker) -> None:
    cfg = loaded.config
    connector_of: dict[str, Any] = {}
    for name, system in cfg.systems.items():
        loc: Path_ = ("systems", name)
        cls = registry.get(system.connector)
        if cls is None:
            reason = registry.broken().get(system.connector)
            check.add(
                (*loc, "connector"),
                f"connector {system.connector!r} failed to load: {reason}"
                if reason
                else f"unknown connector {system.connector!r}; installed: {', '.join(sorted(registry.connectors()))}",
            )
            continue
        connector_of[name] = cls
        settings = check.model(loc, cls.settings_model, system.extras)
        if settings is not None:
            loaded.system_settings[name] = settings

    for name, entity in cfg.entities.items():
        schema = _load_schema(name, entity.schema_, loaded.base_dir, check)
        if schema is not None:
            loaded.schemas[name] = schema
        for ref_loc, system_name in _entity_systems(name, entity):
            if system_name not in cfg.systems:
                check.dangling(ref_loc, "systems", system_name)
        if entity.owner is not None and entity.owner not in cfg.owners:
            check.dangling(("entities", name, "owner"), "owners", entity.owner)

    for name, flow in cfg.flows.items():
        floc: Path_ = ("flows", name)
        trig = flow.trigger
        if trig.system is not None:
            tloc: Path_ = (*floc, "trigger", "system")
            if trig.system not in cfg.systems:
                check.dangling(tloc, "systems", trig.system)
            elif trig.system in connector_of:
                cls = connector_of[trig.system]
                if cls.source_options is None:
                    check.add(tloc, f"system {trig.system!r} ({cls.name}) cannot trigger a flow")
                else:
                    opts = check.model((*floc, "trigger"), cls.source_options, trig.extras)
                    loaded.trigger_options[name] = opts
        elif trig.extras:
            check.add((*floc, "trigger"), f"unknown setting {next(iter(trig.extras))!r} for a schedule")
        for i, step in enumerate(flow.steps):
            sloc: Path_ = (*floc, "steps", i)
            if isinstance(step, ValidateStep):
                if step.validate_ not in cfg.entities:
                    check.dangling((*sloc, "validate"), "entities", step.validate_)
            elif isinstance(step, MapStep):
                _check_jsonata((*sloc, "map"), step.map, check)
            elif isinstance(step, FilterStep):
                _check_jsonata((*sloc, "filter"), step.filter, check)
            elif isinstance(step, SplitStep):
                _check_jsonata((*sloc, "split"), step.split, check)
            elif isinstance(step, EnrichStep):
                eloc: Path_ = (*sloc, "enrich")
                looked_up = step.enrich.system
                if looked_up not in cfg.systems:
                    check.dangling((*eloc, "system"), "systems", looked_up)
                elif looked_up in connector_of and not connector_of[looked_up].can_look_up:
                    kind = connector_of[looked_up].name
                    check.add((*eloc, "system"), f"system {looked_up!r} ({kind}) cannot be looked up")
                for column, expression in step.enrich.where.items():
                    _check_jsonata((*eloc, "where", column), expression, check)
            elif isinstance(step, TaskStep):
                _check_task((*sloc, "task"), step.task, cfg, check)
            elif isinstance(step, RouteStep):
                for j, rule in enumerate(step.route):
                    rloc: Path_ = (*sloc, "route", j)
                    if rule.when is not None:
                        _check_jsonata((*rloc, "when"), rule.when, check)
                    target = rule.to or rule.default
                    if target is not None and target not in cfg.flows:
                        check.dangling((*rloc, "to" if rule.to else "default"), "flows", target)
        for i, delivery in enumerate(flow.deliver):
            dloc: Path_ = (*floc, "deliver", i)
            if delivery.system not in cfg.systems:
                check.dangling((*dloc, "system"), "systems", delivery.system)
                continue
            if delivery.system not in connector_of:
                continue
            cls = connector_of[delivery.system]
            if cls.sink_options is None:
                check.add(
                    (*dloc, "system"), f"system {delivery.system!r} ({cls.name}) cannot receive deliveries"
                )
                continue
            opts = check.model(dloc, cls.sink_options, delivery.extras)
            if opts is not None:
                loaded.delivery_options[(name, i)] = opts
        trigger_cls, trigger_options = connector_of.get(trig.system or ""), loaded.trigger_options.get(name)
        if trigger_cls is not None and trigger_options is not None:  # e.g. `bulk: true`: only some flows
            targets = [
                (connector_of[d.system].name if d.system in connector_of else None, loaded.delivery_options.get(at))
                for at, d in (((name, i), d) for i, d in enumerate(flow.deliver))
            ]
            settings = loaded.system_settings.get(flow.trigger.system or "")
            for where, problem in trigger_cls.check_flow(trigger_options, flow, targets, settings):
                check.add((*floc, *where), problem)
        owner = flow.on_error.owner
        if owner is not None and owner not in cfg.owners:
            check.dangling((*floc, "on_error", "owner"), "owners", owner)
    check_entities(loaded, check, connector_of)
    check_agents(cfg, loaded.base_dir, check, connector_of)
    for entity_name, entity in cfg.entities.items():  # entity flows have steps: no bulk trigger
        for system_name, sub in entity.subscribers.items():
            if sub.trigger is not None and sub.trigger.extras.get("bulk") is True:
                check.add(
                    ("entities", entity_name, "subscribers", system_name, "trigger", "bulk"),
                    "a `bulk: true` trigger moves chunks of rows, not records: an entity cannot have one",
                )


def _check_task(loc: Path_, task: Task, cfg: HubConfig, check: _Checker) -> None:
    """A task's owners and entity exist, and its condition compiles (that it has an owner, a
    deadline and an escalation is a readiness finding: readiness/tasks.py)."""
    if task.when is not None:
        _check_jsonata((*loc, "when"), task.when, check)
    for key, name in [("owner", task.owner), ("reject_to", task.reject_to)]:
        if name is not None and name not in cfg.owners:
            check.dangling((*loc, key), "owners", name)
    for j, name in enumerate(task.escalate):
        if name not in cfg.owners:
            check.dangling((*loc, "escalate", j), "owners", name)
    if task.entity is not None and task.entity not in cfg.entities:
        check.dangling((*loc, "entity"), "entities", task.entity)


def _entity_systems(name: str, entity: Any) -> list[tuple[Path_, str]]:
    base: Path_ = ("entities", name)
    refs: list[tuple[Path_, str]] = []
    if entity.source_of_truth is not None:
        refs.append(((*base, "source_of_truth"), entity.source_of_truth))
    for field_name, rule in entity.fields.items():
        if rule.owner is not None:
            refs.append(((*base, "fields", field_name, "owner"), rule.owner))
    for system_name in entity.local:
        refs.append(((*base, "local", system_name), system_name))
    return refs
