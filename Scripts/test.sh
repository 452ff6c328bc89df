#!/usr/bin/env bash
# The whole test suite: set up, build once (with the tests), run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
swift build --build-tests
swift test --skip-build
