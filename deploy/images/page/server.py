"""A small page a person can open: the placeholder of a session's preview or chat endpoint.

Runs in the session pod (Python's standard library only, no writes, any uid). It answers
every GET with one HTML page naming the endpoint and the project, so the chart's probes
(``GET /``) pass and a browser shows something through the Ingress, with or without the
path prefix stripped. The chat page echoes what is typed into it (``?say=...``), which is
enough to see a round trip through the Ingress.
"""

from __future__ import annotations

import html
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TITLES = {"preview": "App preview", "chat": "AI chat"}
BLURBS = {
    "preview": "Your application will appear here once it listens on this port.",
    "chat": "The assistant is not connected yet; this page echoes what you say.",
}


def page(endpoint: str, query: str) -> bytes:
    project = html.escape(os.environ.get("DEVSESSIONS_PROJECT_UUID", "(no project)"))
    title = TITLES.get(endpoint, endpoint)
    said = parse_qs(query).get("say", [""])[0]
    echo = f"<p>You said: <q>{html.escape(said)}</q></p>" if said else ""
    form = (
        '<form method="get"><input name="say" autofocus> <button>Send</button></form>'
        if endpoint == "chat"
        else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title} · {project}</title></head><body>"
        f"<h1>{title}</h1><p>Project <code>{project}</code>: {BLURBS.get(endpoint, '')}</p>"
        f"{form}{echo}</body></html>\n"
    ).encode()


class Handler(BaseHTTPRequestHandler):
    server_version = "devsessions-page/1"

    def do_GET(self) -> None:
        body = page(os.environ.get("DEVSESSIONS_ENDPOINT", "preview"), urlsplit(self.path).query)
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    port = int(os.environ.get("DEVSESSIONS_PORT") or os.environ.get("PAGE_PORT", "3000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
