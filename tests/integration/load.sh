#!/bin/sh
# Load: 20 clients back up at once against one server, then restore at
# once, each as its own node.  Every backup and restore must succeed and
# every tree come back identical; the scenario reports the aggregate
# throughput and the server's peak memory (figures, not assertions).
tid="load"
. "$(dirname "$0")/lib.sh"

N=${LOAD_CLIENTS:-20}
start_server LOAD || { fail "server starts"; finish; }

# Every node's tree: a shared 2 MiB file (deduplicated across nodes), a
# 1 MiB file of its own, and 40 small files.
python3 - "$T" "$N" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
shared = random.Random(1).randbytes(2 << 20)
for i in range(n):
    d = os.path.join(root, "src%02d" % i, "data")
    os.makedirs(os.path.join(d, "etc"))
    rnd = random.Random(100 + i)
    with open(os.path.join(d, "shared.bin"), "wb") as f:
        f.write(shared)
    with open(os.path.join(d, "own.bin"), "wb") as f:
        f.write(rnd.randbytes(1 << 20))
    for k in range(40):
        with open(os.path.join(d, "etc", "f%02d.conf" % k), "w") as f:
            f.write(("node %d key %d = %d\n" % (i, k, rnd.randrange(1 << 30))) * (k + 1))
PY
i=0
while [ "$i" -lt "$N" ]; do
	adm "register node load$i pw-load-$i" >/dev/null || fail "register load$i"
	i=$((i + 1))
done

t0=$(date +%s.%N)
i=0; bpids=
while [ "$i" -lt "$N" ]; do
	n=$(printf %02d "$i")
	cli "load$i" "pw-load-$i" --json incremental "$T/src$n/data" >"$T/b$n.json" 2>"$T/b$n.err" &
	bpids="$bpids $!"
	i=$((i + 1))
done
bad=0
for p in $bpids; do wait "$p" || bad=$((bad + 1)); done
t1=$(date +%s.%N)
check "all $N concurrent backups succeed ($bad failed)" test "$bad" = 0
bytes=0
for f in "$T"/b*.json; do
	b=$(json_get "$f" bytes_inspected 2>/dev/null || echo 0)
	bytes=$((bytes + b))
done

i=0; rpids=
while [ "$i" -lt "$N" ]; do
	n=$(printf %02d "$i")
	cli "load$i" "pw-load-$i" restore "$T/src$n/data/" "$T/dst$n/" --subdir=yes >"$T/r$n.out" 2>&1 &
	rpids="$rpids $!"
	i=$((i + 1))
done
bad=0
for p in $rpids; do wait "$p" || bad=$((bad + 1)); done
t2=$(date +%s.%N)
check "all $N concurrent restores succeed ($bad failed)" test "$bad" = 0
diff=0
i=0
while [ "$i" -lt "$N" ]; do
	n=$(printf %02d "$i")
	same_tree "$T/src$n/data" "$T/dst$n" >"$T/cmp$n.out" 2>&1 || { diff=$((diff + 1)); sed 's/^/#   /' "$T/cmp$n.out" | head -5; }
	i=$((i + 1))
done
check "every node's tree restores identically ($diff differ)" test "$diff" = 0
adm "audit container wait=yes" --json >"$T/audit.json" 2>&1
check "audit after the load finds no damage" test "$(json_get "$T/audit.json" damaged)" = 0
check "the server still runs" kill -0 "$SRV_PID"
hwm=$(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$SRV_PID/status")
python3 - "$N" "$bytes" "$t0" "$t1" "$t2" "$hwm" <<'PY'
import sys
n, b, t0, t1, t2, hwm = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:6]), sys.argv[6]
print("# %d clients: backup %.1f MiB in %.2f s (%.1f MiB/s aggregate), restore in %.2f s (%.1f MiB/s); server peak RSS %s"
      % (n, b / 1048576, t1 - t0, b / 1048576 / (t1 - t0), t2 - t1, b / 1048576 / (t2 - t1), hwm))
PY
finish
