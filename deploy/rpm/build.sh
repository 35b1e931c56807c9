#!/usr/bin/env bash
# Build the LANBill RPM (`make rpm`): a source tarball of the working tree,
# the wheels of requirements.txt for CPython 3.11 on x86_64 (downloaded
# once, cached in build/wheels by the requirements' checksum), rpmbuild.
#   deploy/rpm/build.sh [--topdir DIR]     (default build/rpm)
set -euo pipefail
cd "$(dirname "$0")/../.."
TOPDIR=$PWD/build/rpm
if [ "${1:-}" = "--topdir" ]; then
  TOPDIR=$(mkdir -p "$2" && cd "$2" && pwd)
fi
command -v rpmbuild >/dev/null || { echo "rpmbuild is missing: apt-get install rpm (Debian) or dnf install rpm-build" >&2; exit 3; }
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' lanbill/__init__.py)
PIP=${PIP:-pip3}
[ -x .venv/bin/pip ] && PIP=.venv/bin/pip
SUM=$(sha256sum requirements.txt | cut -c1-16)
WHEELS=build/wheels/$SUM
if [ ! -e "$WHEELS/.complete" ]; then
  rm -rf "$WHEELS"
  mkdir -p "$WHEELS"
  # RHEL 9 / RED OS 8: glibc 2.34 and older manylinux tags
  platforms=()
  for tag in manylinux_2_34 manylinux_2_28 manylinux_2_27 manylinux_2_26 manylinux_2_17 manylinux2014; do
    platforms+=(--platform "${tag}_x86_64")
  done
  # A dependency published only as source (docopt, pure Python) has no
  # wheel to download for another platform: build the wheels here first and
  # offer the pure-Python ones (py3-none-any run anywhere) to the download.
  LOCAL="$WHEELS.local"
  mkdir -p "$LOCAL"
  if ! "$PIP" wheel --quiet -r requirements.txt -w "$LOCAL" > "$WHEELS.log" 2>&1; then
    grep -v "^WARNING: Location" "$WHEELS.log" >&2
    exit 1
  fi
  find "$LOCAL" -name '*.whl' ! -name '*-none-any.whl' -delete
  if ! "$PIP" download --quiet --only-binary=:all: --python-version 3.11 --implementation cp "${platforms[@]}" \
      --find-links "$LOCAL" -r requirements.txt -d "$WHEELS" >> "$WHEELS.log" 2>&1; then
    grep -v "^WARNING: Location" "$WHEELS.log" >&2
    exit 1
  fi
  touch "$WHEELS/.complete"
fi
mkdir -p "$TOPDIR"/{SOURCES,SPECS,BUILD,RPMS,SRPMS,BUILDROOT}
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/lanbill-$VERSION/wheels"
tar --exclude=./.git --exclude=./.venv --exclude=./instance --exclude=./tests --exclude=./build \
    --exclude=./.pytest_cache --exclude=./.ruff_cache --exclude='*.pyc' --exclude=__pycache__ -cf - . \
  | tar -C "$STAGE/lanbill-$VERSION" -xf -
tar -C "$STAGE/lanbill-$VERSION" -czf "$TOPDIR/SOURCES/lanbill-$VERSION.tar.gz" --transform "s,^\.,lanbill-$VERSION," .
cp "$WHEELS"/*.whl "$STAGE/lanbill-$VERSION/wheels/"
tar -C "$STAGE/lanbill-$VERSION" -cf "$TOPDIR/SOURCES/lanbill-wheels-$VERSION.tar.gz" wheels
cp deploy/rpm/lanbill.spec "$TOPDIR/SPECS/"
rpmbuild --quiet -bb --nodeps --define "_topdir $TOPDIR" --define "lanbill_version $VERSION" \
  "$TOPDIR/SPECS/lanbill.spec"
find "$TOPDIR/RPMS" -name "lanbill-$VERSION-*.rpm" -print
