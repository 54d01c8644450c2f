"""The design's HTTP session API on FastAPI: every write goes through the event log.

``factory.create_app`` builds the app; ``read_routes`` (get-or-create, wait, SSE, list)
and ``write_routes`` (create, delete) hold the endpoints; ``auth`` checks bearer tokens;
``errors`` gives every failure one JSON shape; ``context`` carries the ports.
"""
