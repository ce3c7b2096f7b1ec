"""docs/brokers.md's configuration reference names every setting of every broker connector's
models (the tables are written from the models; this keeps them in step)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from interlace.connectors.amqp.settings import AmqpDelivery, AmqpSettings, AmqpTrigger, Binding, DeadLetter
from interlace.connectors.mqtt.settings import MqttDelivery, MqttSettings, MqttTrigger
from interlace.connectors.nats.settings import NatsDelivery, NatsSettings, NatsTrigger
from interlace.connectors.redis.settings import RedisDelivery, RedisSettings, RedisTrigger

DOC = Path(__file__).resolve().parents[2] / "docs" / "brokers.md"
MODELS: dict[str, list[type[BaseModel]]] = {
    "amqp": [AmqpSettings, AmqpTrigger, Binding, DeadLetter, AmqpDelivery],
    "nats": [NatsSettings, NatsTrigger, NatsDelivery],
    "mqtt": [MqttSettings, MqttTrigger, MqttDelivery],
    "redis": [RedisSettings, RedisTrigger, RedisDelivery],
}


@pytest.mark.parametrize("connector", MODELS)
def test_reference_names_every_setting(connector: str) -> None:
    page = DOC.read_text()
    section = page.split(f"### `{connector}`", 1)[1].split("\n### ", 1)[0]
    for model in MODELS[connector]:
        for name, field in model.model_fields.items():
            assert f"| `{name}` |" in section, (
                f"docs/brokers.md: `{connector}` does not describe {model.__name__}.{name}"
            )
            assert field.description, f"{model.__name__}.{name} has no description for the reference"
