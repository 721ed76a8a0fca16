#!/usr/bin/env bash
# Installs the real PyPI MCP servers the integration tests run, into .venv-servers (reused when present).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=".venv-servers"
want="mcp-server-time mcp-server-git mcp-server-fetch mcp-luma mcp"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import mcp_server_time, mcp_server_git, mcp_server_fetch, mcp" >/dev/null 2>&1 || [ ! -x "$venv/bin/mcp-luma" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check $want
fi
echo "test servers ready in $venv"
