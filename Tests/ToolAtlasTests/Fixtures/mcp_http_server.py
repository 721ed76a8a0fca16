"""A real MCP server over HTTP for the crawler's tests, written with the official `mcp` package.

Usage: mcp_http_server.py MODE PORT_FILE
  MODE: json (Streamable HTTP, JSON replies), stateless (the same without sessions), sse (Streamable HTTP, SSE replies), legacy (HTTP+SSE at /sse),
        redirect (a plain HTTP server whose every path redirects to 169.254.169.254, for the address checks),
        auth (every request answers 401), hang (requests are read and never answered),
        older (Streamable HTTP with JSON replies that ignores the 2026-07-28 version header, like a server of the
        initialize era: it needs a session from `initialize`).
The chosen loopback port is written to PORT_FILE once the socket listens."""
import os, socket, sys

mode, port_file = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(64)
port = sock.getsockname()[1]


def announce():
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(port_file + ".tmp", port_file)


if mode in ("redirect", "auth", "hang"):
    import http.server, time

    class Redirect(http.server.BaseHTTPRequestHandler):
        def answer(self):
            if mode == "hang":
                time.sleep(3600)
            self.send_response(307 if mode == "redirect" else 401)
            if mode == "redirect":
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            else:
                self.send_header("WWW-Authenticate", 'Bearer realm="notes"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Redirect, bind_and_activate=False)
    server.socket = sock
    announce()
    server.serve_forever()
    sys.exit(0)

import uvicorn
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("http-notes", instructions="Notes kept in memory for the crawler tests.")


@mcp.tool()
def list_notes(tag: str = "") -> list[str]:
    """List the titles of saved notes, optionally only those with a tag."""
    return []


@mcp.tool()
def delete_note(note_id: str) -> str:
    """Permanently delete a note by its id."""
    return "deleted"


@mcp.tool()
def send_invoice(customer_email: str, amount_cents: int) -> str:
    """Create and send an invoice charging the customer the given amount."""
    return "sent"


if mode == "legacy":
    app = mcp.sse_app()
else:
    app = mcp.streamable_http_app(json_response=(mode in ("json", "stateless", "older")), stateless_http=(mode == "stateless"))

if mode == "older":
    inner = app

    async def app(scope, receive, send):
        if scope["type"] == "http":
            scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k != b"mcp-protocol-version" or v != b"2026-07-28"])
        await inner(scope, receive, send)

announce()
uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])
