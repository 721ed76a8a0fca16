#!/usr/bin/env bash
# Installs the real PyPI MCP servers the integration tests run, into cached virtualenvs under .venv-servers/.
# mcp-luma still imports mcp.server.fastmcp, which mcp 2.x removed, so it gets its own environment with mcp<2.
set -euo pipefail
cd "$(dirname "$0")/.."
root=".venv-servers"
mkdir -p "$root"
setup() {  # name, import check, packages...
  local name="$1" check="$2"; shift 2
  local venv="$root/$name"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
    "$venv/bin/pip" install -q --disable-pip-version-check "$@"
  fi
}
setup main "import mcp_server_time, mcp_server_git, mcp_server_fetch, mcp.server.mcpserver" mcp-server-time mcp-server-git mcp-server-fetch mcp
setup luma "import mcp_luma" mcp-luma "mcp<2"
echo "test servers ready in $root"
