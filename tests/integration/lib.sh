# Shared helpers for integration scenarios (sourced).  Each scenario sets
# tid, works in a fresh temporary directory and prints TAP-like "ok" /
# "not ok" lines that tools/test.sh counts.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
T=$(mktemp -d "${TMPDIR:-/tmp}/coffer-it.XXXXXX")
nfail=0
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] && echo "# kept $T" || rm -rf "$T"
}
trap cleanup EXIT
ok() { echo "ok - $tid: $*"; }
fail() { echo "not ok - $tid: $*"; nfail=$((nfail + 1)); }
check() {	# check "what" command...; shows the command's output on failure
	what=$1; shift
	if "$@" >"$T/.check.out" 2>&1; then
		ok "$what"
	else
		fail "$what"
		sed 's/^/#   /' "$T/.check.out"
	fi
}
finish() {
	# A sanitizer build's reports from any server count as failures.
	for f in "$T"/*/stderr; do
		[ -f "$f" ] || continue
		if grep -qE 'Sanitizer|runtime error' "$f"; then
			fail "sanitizer report in $f"
			sed 's/^/#   /' "$f" | head -40
		fi
	done
	[ "$nfail" -eq 0 ] && exit 0 || exit 1
}

# ---- servers and clients ----
COFFERD="$top_builddir/cofferd"
COFFER="$top_builddir/coffer"
ADMIN="$top_builddir/coffer-admin"
export COFFER_ADMIN_PASSWORD=${COFFER_ADMIN_PASSWORD:-admin-secret-1}

# start_server NAME: format an instance in $T/NAME and run it on a free
# port; sets SRV_DIR, SRV_PORT, SRV_PID (and adds the pid for cleanup).
start_server() {
	SRV_DIR="$T/$1"
	if [ ! -f "$SRV_DIR/catalog.db" ]; then
		"$COFFERD" format --dir "$SRV_DIR" --name "$1" --port 0 \
		    >"$T/$1.format" 2>&1 || { cat "$T/$1.format"; return 1; }
	fi
	# A restart must not see the previous run's ready line.
	rm -f "$SRV_DIR/stdout"
	"$COFFERD" --dir "$SRV_DIR" --port "${2:-0}" >"$SRV_DIR/stdout" 2>>"$SRV_DIR/stderr" &
	SRV_PID=$!
	pids="$pids $SRV_PID"
	i=0
	while ! grep -q ' ready on ' "$SRV_DIR/stdout" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$SRV_PID" 2>/dev/null; then
			echo "# cofferd did not start:"; sed 's/^/#   /' "$SRV_DIR/stderr"
			return 1
		fi
		sleep 0.05
	done
	SRV_PORT=$(sed -n 's/.* ready on [^:]*:\([0-9]*\)$/\1/p' "$SRV_DIR/stdout")
}

stop_server() {	# by PID, waiting for the clean shutdown
	kill -TERM "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
}

adm() {	# adm 'COMMAND' [more options]
	cmd=$1; shift
	"$ADMIN" --server "127.0.0.1:$SRV_PORT" --ca "$SRV_DIR/tls/ca.pem" "$@" -c "$cmd"
}

cli() {	# cli NODE PASSWORD ARGS...
	node=$1; pw=$2; shift 2
	COFFER_PASSWORD="$pw" "$COFFER" --server "127.0.0.1:$SRV_PORT" \
	    --ca "$SRV_DIR/tls/ca.pem" --node "$node" "$@"
}

# json_get FILE KEY: the value of KEY in the last JSON object of FILE.
json_get() {
	python3 -c 'import json,sys
lines=[l for l in open(sys.argv[1]) if l.strip().startswith("{")]
print(json.loads(lines[-1])[sys.argv[2]])' "$1" "$2"
}

# ---- VM images and domains (vm_backup.sh, vm_segments.sh) ----

# mkimage FILE MiB SEED: sparse, scattered 64 KiB data runs, some zero.
mkimage() {
	python3 - "$1" "$2" "$3" <<'PY'
import os, random, sys
path, mib, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
with open(path, "wb") as f:
    f.truncate(mib << 20)
    for i in range(mib // 2):
        f.seek(rnd.randrange(0, (mib << 20) // 65536) * 65536)
        # random, repetitive text, and zero blocks written on purpose
        k = i % 3
        f.write(rnd.randbytes(65536) if k == 0 else
                (b"guest data %d " % i) * 4096 if k == 1 else bytes(65536))
PY
}
# change FILE N SEED: N scattered 64 KiB writes of random data.
change() {
	python3 - "$1" "$2" "$3" <<'PY'
import os, random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
size = os.path.getsize(path)
with open(path, "r+b") as f:
    for _ in range(n):
        f.seek(rnd.randrange(0, size // 65536) * 65536)
        f.write(rnd.randbytes(65536))
PY
}
allocated() { du -k "$1" | cut -f1; }
# vm_xml NAME IMAGE: the domain XML of a VM with one raw disk, vda.
vm_xml() {
	cat <<EOF
<domain type='kvm'><name>$1</name><memory unit='KiB'>524288</memory>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/>
<source file='$2'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>
EOF
}

# same_tree A B: regular files, symlinks, dirs, modes and mtimes equal.
same_tree() {
	python3 - "$1" "$2" <<'PY'
import os, stat, sys
a, b = sys.argv[1], sys.argv[2]
bad = 0
def walk(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = os.lstat(p)
    return out
ea, eb = walk(a), walk(b)
for k in sorted(set(ea) | set(eb)):
    if k not in ea or k not in eb:
        print("#   only in one tree:", repr(k)); bad += 1; continue
    x, y = ea[k], eb[k]
    if stat.S_IFMT(x.st_mode) != stat.S_IFMT(y.st_mode) or stat.S_IMODE(x.st_mode) != stat.S_IMODE(y.st_mode):
        print("#   type/mode differs:", repr(k), oct(x.st_mode), oct(y.st_mode)); bad += 1
    if stat.S_ISLNK(x.st_mode):
        if os.readlink(os.path.join(a, k)) != os.readlink(os.path.join(b, k)):
            print("#   link target differs:", repr(k)); bad += 1
        continue
    if not stat.S_ISDIR(x.st_mode) and int(x.st_mtime) != int(y.st_mtime):
        print("#   mtime differs:", repr(k), x.st_mtime, y.st_mtime); bad += 1
    if stat.S_ISREG(x.st_mode):
        if open(os.path.join(a, k), 'rb').read() != open(os.path.join(b, k), 'rb').read():
            print("#   content differs:", repr(k)); bad += 1
sys.exit(1 if bad else 0)
PY
}

# ---- long operations interrupted on purpose ----

# cli_bg NODE PASSWORD ARGS...: cli in the background; CLI_PID is the coffer
# process itself (exec'd), so signals sent to it reach the client.
cli_bg() {
	node=$1; pw=$2; shift 2
	( COFFER_PASSWORD="$pw"; export COFFER_PASSWORD
	  exec "$COFFER" --server "127.0.0.1:$SRV_PORT" \
	    --ca "$SRV_DIR/tls/ca.pem" --node "$node" "$@" ) &
	CLI_PID=$!
	pids="$pids $CLI_PID"
}

# committed_objects: the objects the server's catalog holds (query
# occupancy, all nodes); 0 when there are none or the query fails.
committed_objects() {
	adm "query occupancy" --json 2>/dev/null | python3 -c 'import json,sys
n = 0
for l in sys.stdin:
    if l.strip().startswith("{"):
        n = sum(r.get("objects", 0) for r in json.loads(l).get("rows", []))
print(n)' 2>/dev/null || echo 0
}

# wait_for_open PID REGEX [SECONDS]: poll (without stopping it) until
# process PID has a file open whose path matches the extended REGEX: how far
# a backup's walk got.  Returns 0, 1 if PID exited first, 2 after SECONDS
# (default 45).
wait_for_open() {
	wpid=$1; wre=$2; deadline=$(( $(date +%s) + ${3:-45} ))
	while :; do
		case $(cat "/proc/$wpid/stat" 2>/dev/null) in
		*") Z "*|"") return 1 ;;
		esac
		for fd in /proc/"$wpid"/fd/*; do
			readlink "$fd" 2>/dev/null
		done | grep -qE "$wre" && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 2
		sleep 0.02
	done
}

# run_until_committed PID MORE_THAN [SECONDS]: let process PID run in short
# slices, stopped (SIGSTOP) between them while the server is asked how many
# objects it holds, until it holds more than MORE_THAN.  Returns 0 with PID
# left stopped; 1 if PID exited first; 2 if SECONDS (default 45) passed.
# While stopped the process makes no progress, so it never runs far past
# the first commit the server shows, however fast or slow the machine.
run_until_committed() {
	rpid=$1; above=$2; deadline=$(( $(date +%s) + ${3:-45} ))
	while :; do
		kill -STOP "$rpid" 2>/dev/null || return 1
		# A process that exited is a zombie until waited for.
		case $(cat "/proc/$rpid/stat" 2>/dev/null) in
		*") Z "*|"") return 1 ;;
		esac
		[ "$(committed_objects)" -gt "$above" ] && return 0
		[ "$(date +%s)" -ge "$deadline" ] && { kill -CONT "$rpid" 2>/dev/null; return 2; }
		kill -CONT "$rpid" 2>/dev/null || return 1
		sleep 0.05
	done
}

# client_reports: sanitizer reports in the clients' saved output ($T/*.err,
# $T/*.out) count as failures, as finish does for the servers'.
client_reports() {
	for f in "$T"/*.err "$T"/*.out; do
		[ -f "$f" ] || continue
		if grep -qE 'Sanitizer|runtime error' "$f"; then
			fail "sanitizer report in $f"
			grep -E -A12 'ERROR: [A-Za-z]*Sanitizer|runtime error' "$f" | sed 's/^/#   /' | head -40
		fi
	done
}

# has_json_keys FILE KEY...: the last JSON object of FILE has every KEY.
has_json_keys() {
	python3 - "$@" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip().startswith("{")]
if not lines:
    print("#   no JSON object in", sys.argv[1]); sys.exit(1)
o = json.loads(lines[-1])
missing = [k for k in sys.argv[2:] if k not in o]
if missing:
    print("#   missing keys:", missing, "in", o); sys.exit(1)
PY
}

# rows_have_keys FILE KEY...: the last JSON object of FILE has a non-empty
# "rows" whose every row has every KEY.
rows_have_keys() {
	python3 - "$@" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip().startswith("{")]
if not lines:
    print("#   no JSON object in", sys.argv[1]); sys.exit(1)
rows = json.loads(lines[-1]).get("rows")
if not rows:
    print("#   no rows:", lines[-1].strip()[:300]); sys.exit(1)
missing = sorted({k for r in rows for k in sys.argv[2:] if k not in r})
if missing:
    print("#   missing keys:", missing, "in", rows[0]); sys.exit(1)
PY
}

# restart_server NAME: start_server on an instance that ran before.  The
# old stdout goes first: start_server would otherwise find the old "ready
# on" line before the new server truncated the file, and read no port.
restart_server() {
	rm -f "$T/$1/stdout"
	start_server "$@" && [ -n "$SRV_PORT" ]
}
