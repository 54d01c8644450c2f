"""Reconcile actions, one per module: provision and teardown."""
