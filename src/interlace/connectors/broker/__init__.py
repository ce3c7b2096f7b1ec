"""What the message broker connectors (amqp, nats, mqtt, redis) share: payload codecs and
destination templates (`payload.py`), the consume-commit-ack loop of a source (`source.py`), and
the in-memory twin of a sink that `interlace test` delivers to (`twin.py`)."""
