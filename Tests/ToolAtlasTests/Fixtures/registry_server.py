"""A loopback stand-in for the MCP Registry API, for the tests only: serves the recorded list pages by cursor.

Usage: registry_server.py PORT_FILE  (the chosen port is written to PORT_FILE once the server listens)."""
import http.server, os, sys, urllib.parse

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "registry")

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path != "/v0.1/servers" or q.get("limit", [""])[0] != "100":
            self.send_response(404)
            self.end_headers()
            return
        page = "page2.json" if "updated_since" in q or q.get("cursor", [""])[0] == "page2" else "page1.json"
        body = open(os.path.join(HERE, page), "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]) + "\n")
os.rename(tmp, sys.argv[1])
server.serve_forever()
