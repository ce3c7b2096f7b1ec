"""`interlace init`: the six questions for a first flow, answered, become a hub.yaml, an entity
schema and a flow test."""

from interlace.scaffold.answers import Answers
from interlace.scaffold.write import scaffold

__all__ = ["Answers", "scaffold"]
