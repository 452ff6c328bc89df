#!/usr/bin/env bash
# Fuzz the parser and validator with libFuzzer + AddressSanitizer.
#
#   Scripts/fuzz.sh [SECONDS] [RUNS]     (defaults: 60 s, no run limit)
#
# Seeds come from Fixtures/ (and Fixtures/fuzz-regressions/); the working
# corpus lives in .build-fuzz/corpus. A crashing input is written to
# Fixtures/fuzz-regressions/ (commit it: the test suite replays every file
# there) and the script exits 1. Prints executions per second and the
# slowest input's time.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_BUDGET="${1:-60}"
RUNS="${2:--1}"
swift build --scratch-path .build-fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
  --product dicom-fuzz 2>&1 | grep -v "Cannot export local symbol" | tail -2
mkdir -p .build-fuzz/corpus Fixtures/fuzz-regressions
cp Fixtures/*.dcm .build-fuzz/corpus/
find Fixtures/fuzz-regressions -type f -name 'crash-*' -exec cp {} .build-fuzz/corpus/ \;
log=.build-fuzz/fuzz.log
set +e
.build-fuzz/release/dicom-fuzz .build-fuzz/corpus -max_total_time="$SECONDS_BUDGET" -runs="$RUNS" \
  -max_len=65536 -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
  -artifact_prefix=Fixtures/fuzz-regressions/ >"$log" 2>&1
status=$?
set -e
grep -E "^stat::|^Done|ERROR|SUMMARY" "$log" | sed 's/^/fuzz: /'
if [ $status -ne 0 ]; then
  echo "fuzz: crash found (exit $status); input saved under Fixtures/fuzz-regressions/ — see $log"
  exit 1
fi
echo "fuzz: no crash in ${SECONDS_BUDGET}s"
