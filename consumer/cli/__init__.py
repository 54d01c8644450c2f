"""The ``devsessions`` command line."""
