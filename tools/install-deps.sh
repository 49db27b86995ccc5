#!/bin/sh
# Install the Debian packages Coffer needs to build and test.
# Idempotent and quiet when everything is already there.
# hercules: its tapemap/hetmap read our AWSTAPE volumes (test_vol runs tapemap).
# libvirt, libnbd, QEMU: live VM backup (--with-libvirt) and its integration
# test, which runs a private libvirtd with a guest under TCG (no KVM needed).
set -eu

PKGS="build-essential autoconf automake pkg-config
libsqlite3-dev libssl-dev libzstd-dev libevent-dev libcmocka-dev libxml2-dev
openssl sqlite3 clang qemu-utils hercules
libvirt-dev libnbd-dev libvirt-daemon libvirt-daemon-driver-qemu
libvirt-clients qemu-system-x86 libnbd-bin"
# cppcheck: tools/test.sh runs it over the product's code.
PKGS="$PKGS cppcheck"
# libcurl: cloud storage pools on S3 (storage-pools/s3.c).  Ceph (mon, osd,
# mgr, radosgw): tests/integration/ceph_pool.sh and tools/bench files
# --pool=cloud start a single-node cluster on loopback (tests/integration/ceph.sh).
PKGS="$PKGS libcurl4-openssl-dev curl ceph-mon ceph-osd ceph-mgr radosgw ceph-common uuid-runtime bc"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
