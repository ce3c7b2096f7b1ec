"""Broker systems in a config: `interlace test` delivers to each connector's in-memory twin (a
test fails where the real sink would refuse), and `interlace check` probes each broker and what
each trigger and delivery asks of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broker_support import need, unique
from support import closed_port, interlace

CONFIG = """
hub: {{name: brokers}}
owners: {{ops: {{email: ops@x.test}}}}
systems:
  rabbit: {{connector: amqp, url: "amqp://guest:guest@127.0.0.1:{amqp_port}/"}}
  cache: {{connector: redis, url: "redis://127.0.0.1:{redis_port}/0"}}
flows:
  orders:
    trigger: {{system: rabbit, queue: {queue}, declare: {declare}}}
    steps:
      - map: '{{"id": id, "status": status}}'
    deliver:
      - {{system: rabbit, exchange: amq.topic, routing_key: "order.{{status}}"}}
      - {{system: cache, stream: "orders.{{status}}"}}
    on_error: {{owner: ops}}
    gain: {{minutes_saved_per_message: 1}}
    tests:
      - name: routed by status
        given: {{id: A1, status: new}}
        expect_deliveries: {{rabbit: [{{id: A1, status: new}}], cache: [{{id: A1, status: new}}]}}
      - name: no status
        given: {{id: A2}}
        expect: {{id: A2}}
"""


def write(folder: Path, **values: object) -> Path:
    defaults: dict[str, object] = {"amqp_port": 5672, "redis_port": 6379, "queue": unique("orders"), "declare": "true"}
    path = folder / "hub.yaml"
    path.write_text(CONFIG.format(**{**defaults, **values}))
    return path


def test_flow_tests_use_the_twins(tmp_path: Path) -> None:
    with closed_port() as port:  # no broker is needed: the twins open no connection
        result = interlace("test", str(write(tmp_path, amqp_port=port, redis_port=port)))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "routed by status" in out and "no status" in out
    assert "routing key field 'status' is not in the message" in out, out


@pytest.mark.service
def test_check_probes_brokers_and_their_uses(tmp_path: Path) -> None:
    need("rabbitmq")
    need("redis")
    missing = unique("missing")
    result = interlace("check", str(write(tmp_path, queue=missing, declare="false")), "--format", "json")
    found = [f for f in json.loads(result.stdout)["findings"] if f["kind"] == "system-unreachable"]
    assert [f["path"] for f in found] == ["systems.rabbit"], result.stdout
    assert f"flow 'orders' trigger: rabbit: queue '{missing}'" in found[0]["message"]
    ok = interlace("check", str(write(tmp_path)), "--format", "json")
    assert not [f for f in json.loads(ok.stdout)["findings"] if f["kind"] == "system-unreachable"], ok.stdout
    with closed_port() as port:
        down = interlace("check", str(write(tmp_path, redis_port=port)), "--format", "json")
    found = [f for f in json.loads(down.stdout)["findings"] if f["kind"] == "system-unreachable"]
    assert [f["path"] for f in found] == ["systems.cache"] and "not reachable" in found[0]["message"]
