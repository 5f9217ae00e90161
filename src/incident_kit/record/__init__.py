"""The incident record: its model, the hand-written file format, and the event store."""
