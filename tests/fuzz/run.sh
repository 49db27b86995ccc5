#!/bin/sh
# Build each libFuzzer target with clang and run it on its seed corpus for a
# few seconds (FUZZ_SECONDS, default 5).  Exit 77 (skip) without clang.
# A longer run:  FUZZ_SECONDS=600 sh tests/fuzz/run.sh
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
CLANG=$(command -v clang || command -v clang-14 || true)
[ -n "$CLANG" ] || { echo "clang not found: fuzz targets skipped"; exit 77; }
secs=${FUZZ_SECONDS:-5}
T=$(mktemp -d "${TMPDIR:-/tmp}/coffer-fuzz.XXXXXX")
trap '[ -n "${FUZZ_KEEP:-}" ] && echo "kept $T" || rm -rf "$T"' EXIT
s=$top_srcdir
# libxml2's flags come from configure through make check; pkg-config when
# the script is run by hand.
: "${LIBXML_CFLAGS:=$(pkg-config --cflags libxml-2.0 2>/dev/null)}"
: "${LIBXML_LIBS:=$(pkg-config --libs libxml-2.0 2>/dev/null || echo -lxml2)}"
# The S3 client (storage-pools/s3.c) needs libcurl where configure found it.
if [ -z "${CURL_LIBS+set}" ]; then
	CURL_LIBS=
	grep -q '^#define HAVE_S3 1' "$top_builddir/config.h" 2>/dev/null &&
	    CURL_LIBS=$(pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
fi
inc="-I$top_builddir -I$s/common -I$s/storage-pools -I$s/client $LIBXML_CFLAGS"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
common="$s/common/err.c $s/common/util.c $s/common/crc32c.c"
fail=0

build_run() {	# name sources...
	name=$1; shift
	if ! $CLANG $flags $inc "$s/tests/fuzz/fuzz_$name.c" "$@" $common \
	    -o "$T/fuzz_$name" $LIBXML_LIBS -lcrypto -lzstd -lpthread \
	    2>"$T/$name.build"; then
		echo "not ok - fuzz $name: build failed"; cat "$T/$name.build"
		fail=1; return
	fi
	mkdir -p "$T/corpus_$name"
	cp "$s/tests/fuzz/corpus/$name"/* "$T/corpus_$name/" 2>/dev/null || true
	dict=
	[ -f "$s/tests/fuzz/$name.dict" ] && dict="-dict=$s/tests/fuzz/$name.dict"
	if "$T/fuzz_$name" -max_total_time="$secs" -rss_limit_mb=1024 $dict \
	    -artifact_prefix="$T/" "$T/corpus_$name" >"$T/$name.log" 2>&1; then
		echo "ok - fuzz $name: $(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$T/$name.log") runs, no crash"
	else
		echo "not ok - fuzz $name: crash"; tail -40 "$T/$name.log"
		ls "$T"/crash-* 2>/dev/null | while read -r c; do od -A x -t x1z "$c" | head -20; done
		fail=1
	fi
}

build_run wire "$s/common/wire.c" "$s/common/proto.c"
build_run container "$s/storage-pools/pool_container.c" "$s/common/codec.c"
build_run vm_xml "$s/client/vm_xml.c"
build_run opt "$s/client/opt.c"
build_run vol "$s/storage-pools/vol_dev_file.c" "$s/storage-pools/vol_label.c" \
    "$s/storage-pools/vol_crypt.c" "$s/storage-pools/vol_reader.c" \
    "$s/storage-pools/vol_info.c" "$s/common/passwd.c"
# fuzz_sess drives the server's session handlers, which stand on the whole
# server library: build that with clang from the sources into an archive
# (only what the handlers need is linked; the programs' mains and the
# network layer, which fuzz_sess stands in for, are left out).
build_server_lib() {
	mkdir -p "$T/obj"
	for f in "$s"/common/*.c "$s"/storage-pools/*.c "$s"/server/*.c; do
		case ${f##*/} in
		cofferd.c|srv_net.c|sess.c|sess_admin.c|sess_node.c|sess_repl.c|sess_sched.c|metrics.c) continue ;;
		err.c|util.c|crc32c.c) continue ;;	# in $common
		esac
		echo "$f"
	done >"$T/lib.list"
	# Two at a time: the machines have two cores.
	# xargs appends the source: sh -c 'cc' CLANG FLAGS INC OUTDIR SOURCE.
	if ! xargs -P2 -n1 sh -c 'o=${4##*/}; exec "$0" $1 $2 -c "$4" -o "$3/${o%.c}.o"' \
	    "$CLANG" "$flags" "$inc -I$s/server" "$T/obj" <"$T/lib.list" \
	    2>"$T/lib.build"; then
		echo "not ok - fuzz sess: building the server library failed"
		tail -30 "$T/lib.build"; fail=1; return 1
	fi
	ar rcs "$T/libfzserver.a" "$T"/obj/*.o
}
if build_server_lib; then
	inc="$inc -I$s/server"
	build_run sess "$s/server/sess_node.c" "$s/server/sess_repl.c" \
	    "$s/server/sess_sched.c" "$T/libfzserver.a" -lsqlite3 -lssl \
	    $CURL_LIBS
	build_run adm "$T/libfzserver.a" -lsqlite3 -lssl $CURL_LIBS
fi
exit $fail
