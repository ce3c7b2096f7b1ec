"""Hybrid hubs: `interlace agent`, run inside a private network, runs the systems assigned to it
(a system's `agent:`) and connects OUT to the hub, never the other way (docs/hybrid.md).

- `wire.py`: what travels on the link (paths, the agent's credentials, messages as JSON);
- `links.py`: the hub's end of each agent's link: its state, the deliveries waiting for it, the
  HTTP routes the agent calls;
- `sink.py`: the sink the hub delivers through to a system an agent runs;
- `runner.py`: the agent itself: its sources buffer into an embedded SQLite store, an uplink
  moves the buffer to the hub, a long poll brings the hub's deliveries down to its sinks.
"""
