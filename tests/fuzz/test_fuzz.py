"""Fuzzing the doors with hypothesis: every decoder in formats/, webhook body parsing and streaming,
and the config loader. Bounded here (a few seconds each, in `make test`); the same properties run
with many more examples under the `long` marker (`make test-long`). The inputs worth keeping
(every crash found, every limit's edge) are files in corpus/, replayed by test_corpus.py."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import strategies as s
from fuzz.targets import FORMATS, body, config, decode, streamed

QUICK = settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
LONG = settings(max_examples=4_000, deadline=None, suppress_health_check=list(HealthCheck))

NEAR = {
    "csv": s.csv_documents(),
    "csv-noheader": s.csv_documents(),
    "json": s.json_documents(),
    "jsonl": s.jsonl_documents(),
    "xml": s.xml_documents(),
    "xml-any": s.xml_documents(),
    "fixedwidth": s.fixed_records(),
    "fixedwidth-ebcdic": st.binary(max_size=64),
    "copybook": st.binary(max_size=96),
    "copybook-ascii-rdw": st.binary(max_size=96),
    "x12": s.edi_documents("x12"),
    "edifact": s.edi_documents("edifact"),
}
assert set(NEAR) == set(FORMATS)


def inputs(name: str) -> st.SearchStrategy[bytes]:
    return st.one_of(NEAR[name], st.binary(max_size=256))


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_decoders_answer_or_refuse(name: str) -> None:
    QUICK(given(inputs(name))(lambda data: decode(name, data)))()


@pytest.mark.long
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_decoders_answer_or_refuse_long(name: str) -> None:
    LONG(given(inputs(name))(lambda data: decode(name, data)))()


body_inputs = st.one_of(s.json_texts(), st.binary(max_size=128))


@QUICK
@given(body_inputs)
def test_parse_json_answers_or_refuses(data: bytes) -> None:
    body(data)


@QUICK
@given(st.binary(max_size=300), st.lists(st.integers(0, 80), max_size=6), st.integers(0, 300))
def test_read_body_stops_at_the_limit_over_any_chunking(data: bytes, sizes: list[int], limit: int) -> None:
    streamed(data, sizes, limit)


def _splice(line: str, value: object) -> bytes:
    """The valid config with one line's value replaced by `value`."""
    if ":" not in line:
        return VALID.encode()
    key = line.split(":")[0]
    return VALID.replace(line, key + ": " + yaml.safe_dump(value, default_flow_style=True).strip(), 1).encode()


def _config_texts() -> st.SearchStrategy[bytes]:
    dumped = s.yaml_values.map(lambda v: yaml.safe_dump(v).encode())
    spliced = st.builds(_splice, st.sampled_from(VALID.splitlines()), s.yaml_values)
    return st.one_of(dumped, spliced, st.binary(max_size=200))


VALID = """hub: {name: fuzz}
systems:
  shop: {connector: webhook, signature: {secret: s, timestamp_header: X-T}}
  drop: {connector: files, path: ./drop, format: {type: xml, record_path: a/b}}
  erp: {connector: sqlite, path: ./erp.db}
entities:
  order: {key: id, schema: {type: object, properties: {id: {type: string}}}}
flows:
  f:
    trigger: {system: shop, event: created}
    steps:
      - validate: order
      - map: '{"id": id}'
    deliver: {system: erp, table: orders, mode: upsert, key: id}
  g:
    trigger: {system: drop, pattern: "*.xml"}
    deliver: {system: erp, table: orders}
"""


@QUICK
@given(_config_texts())
def test_the_config_loader_answers_or_refuses(text: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config(Path(folder), text)


@pytest.mark.long
def test_long_bodies_and_configs() -> None:
    LONG(given(body_inputs)(body))()
    with tempfile.TemporaryDirectory() as folder:
        LONG(given(_config_texts())(lambda text: config(Path(folder), text)))()
