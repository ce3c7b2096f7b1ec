"""Redis: Streams with consumer groups (acknowledged, replayable) and pub/sub (fire and forget)."""

from interlace.connectors.redis.connector import RedisConnector
from interlace.connectors.redis.settings import RedisDelivery, RedisSettings, RedisTrigger

__all__ = ["RedisConnector", "RedisDelivery", "RedisSettings", "RedisTrigger"]
