"""Unreachable systems: a live probe of each system (`Connector.probe()`), all at once, each with a
short timeout, then of what each trigger and delivery naming it asks of it (`Connector.probe_use`:
a queue that exists, a stream that may be written). Systems whose secrets are not set here are
skipped (see `secret-unset`), and so are systems an agent runs (`agent:`): they are inside its
network, out of the hub's reach."""

from __future__ import annotations

import asyncio

from interlace.connectors import registry
from interlace.readiness.context import Context
from interlace.readiness.finding import Finding

DEFAULT_TIMEOUT = 3.0


def check(ctx: Context, timeout: float = DEFAULT_TIMEOUT) -> list[Finding]:
    skipped = {loc[1] for places in ctx.unset_secrets.values() for loc in places if loc[:1] == ("systems",)}
    systems = ctx.loaded.config.systems
    names = [n for n in systems if n not in skipped and n in ctx.loaded.system_settings and systems[n].agent is None]
    problems = asyncio.run(_probe_all(ctx, names, timeout))
    return [
        ctx.finding("system-unreachable", ("systems", name), f"system {name!r} did not answer: {problem}")
        for name, problem in zip(names, problems, strict=True)
        if problem is not None
    ]


async def _probe_all(ctx: Context, names: list[str], timeout: float) -> list[str | None]:
    return list(await asyncio.gather(*(_probe(ctx, n, timeout) for n in names)))


def _uses(ctx: Context, name: str) -> list[tuple[str, str, object]]:
    """(role, where, options) of each trigger and delivery that names system `name`."""
    out: list[tuple[str, str, object]] = []
    for flow_name, flow in ctx.loaded.config.flows.items():
        options = ctx.loaded.trigger_options.get(flow_name)
        if flow.trigger.system == name and options is not None:
            out.append(("source", f"flow {flow_name!r} trigger", options))
        for i, delivery in enumerate(flow.deliver):
            options = ctx.loaded.delivery_options.get((flow_name, i))
            if delivery.system == name and options is not None:
                out.append(("sink", f"flow {flow_name!r} deliver[{i}]", options))
    return out


async def _probe(ctx: Context, name: str, timeout: float) -> str | None:
    system = ctx.loaded.config.systems[name]
    cls = registry.get(system.connector)
    if cls is None:
        return None
    connector = cls(name, ctx.loaded.system_settings[name])
    try:
        await asyncio.wait_for(connector.probe(), timeout)
        for role, where, options in _uses(ctx, name):
            try:
                await asyncio.wait_for(connector.probe_use(role, options), timeout)
            except TimeoutError:
                return f"{where}: no answer within {timeout:g}s"
            except Exception as exc:
                return f"{where}: {str(exc) or type(exc).__name__}"
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except Exception as exc:  # any failure of a plugin's probe is a finding, not a crash
        return str(exc) or type(exc).__name__
    finally:
        try:
            await asyncio.wait_for(connector.close(), timeout)
        except Exception:  # closing a connection that never opened may fail too
            pass
    return None
