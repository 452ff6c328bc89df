#!/usr/bin/env bash
# The whole test suite: set up, build once (with the tests), run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
swift build --build-tests
# The fuzzer, for a short budget (longer by hand: Scripts/fuzz.sh 3600).
Scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
swift test --skip-build
