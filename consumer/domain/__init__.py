"""Pure domain: session states, intake and reconcile decisions, naming, values, backoff.

Nothing here does I/O or imports an adapter; every function is deterministic given its
inputs (time and randomness are passed in), so the decisions are unit-tested directly.
"""
