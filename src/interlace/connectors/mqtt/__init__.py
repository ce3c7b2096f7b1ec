"""MQTT (3.1.1 and 5): subscribe with acks after commit on a persistent session; publish at QoS
0, 1 or 2 with retain and MQTT 5 properties."""

from interlace.connectors.mqtt.connector import MqttConnector
from interlace.connectors.mqtt.settings import MqttDelivery, MqttSettings, MqttTrigger

__all__ = ["MqttConnector", "MqttDelivery", "MqttSettings", "MqttTrigger"]
