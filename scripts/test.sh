#!/usr/bin/env bash
# The full test suite: installs the real PyPI test servers if missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-servers.sh
swift build --build-tests
swift test --skip-build
