"""What X12 and EDIFACT share: problems with positions, the segment-tree specs and the builder
that turns a flat run of segments into nested JSON (loops, segment groups, HL levels) and back,
the record spool that holds an interchange until its trailer is checked, control numbers, and
the trading-partner step."""
