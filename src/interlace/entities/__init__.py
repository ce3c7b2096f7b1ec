"""Entities: business records with a source of truth, field owners and local fields; in
integrate mode the hub keeps a golden record per key and syncs the subscribed systems with it."""
