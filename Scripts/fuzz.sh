#!/usr/bin/env bash
# Fuzz the parser and validator with libFuzzer + AddressSanitizer, then (a
# shorter run) the DIMSE PDU and command-set parsers.
#
#   Scripts/fuzz.sh [SECONDS] [RUNS]     (defaults: 60 s, no run limit)
#   DIMSE_FUZZ_SECONDS=20                (the DIMSE run; 0 skips it)
#
# DIMSE seeds and crash inputs live in Tests/DIMSETests/Seeds/ (replayed by
# the DIMSETests suite).
#
# Seeds come from Fixtures/ (and Fixtures/fuzz-regressions/), plus JPEG files made by
# dcmcjpeg or taken from pydicom's test files; the working
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
DIMSE_SECONDS="${DIMSE_FUZZ_SECONDS:-20}"
if [ "$DIMSE_SECONDS" != 0 ]; then
  swift build --scratch-path .build-fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
    --product dimse-fuzz 2>&1 | grep -v "Cannot export local symbol" | tail -2
fi
mkdir -p .build-fuzz/corpus Fixtures/fuzz-regressions
cp Fixtures/*.dcm .build-fuzz/corpus/
# JPEG seeds (.50, .51, .57, .70; a few KiB each, under -max_len): DCMTK's encodings of two
# fixtures, and pydicom's small YBR_FULL, RGB lossless and 12-bit extended test files.
for src in ct_explicit_le multiframe_8frames; do
  for process in e1 el eb ee; do
    dcmcjpeg "+$process" "Fixtures/$src.dcm" ".build-fuzz/corpus/jpeg-$src-$process.dcm" \
      || echo "fuzz: no JPEG seed from dcmcjpeg +$process $src"
  done
done
python3 -c 'import shutil, sys
from pydicom.data import get_testdata_file
for name in ("SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg_gdcm.dcm", "JPGExtended.dcm"):
    shutil.copy(get_testdata_file(name), sys.argv[1] + "/jpeg-pydicom-" + name)' .build-fuzz/corpus \
  || echo "fuzz: no pydicom JPEG seeds"
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

if [ "$DIMSE_SECONDS" != 0 ]; then
  mkdir -p .build-fuzz/dimse-corpus
  cp Tests/DIMSETests/Seeds/* .build-fuzz/dimse-corpus/
  dlog=.build-fuzz/dimse-fuzz.log
  set +e
  .build-fuzz/release/dimse-fuzz .build-fuzz/dimse-corpus -max_total_time="$DIMSE_SECONDS" -runs="$RUNS" \
    -max_len=16384 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix=Tests/DIMSETests/Seeds/ >"$dlog" 2>&1
  status=$?
  set -e
  grep -E "^stat::|^Done|ERROR|SUMMARY" "$dlog" | sed 's/^/dimse-fuzz: /'
  if [ $status -ne 0 ]; then
    echo "dimse-fuzz: crash found (exit $status); input saved under Tests/DIMSETests/Seeds/ — see $dlog"
    exit 1
  fi
  echo "dimse-fuzz: no crash in ${DIMSE_SECONDS}s"
fi
