#!/bin/sh
# Schedules: a client schedule starting now runs under coffer sched and its
# event shows Completed with rc 0, and the files restore; a window that
# closed without a start shows Missed; a failing schedule shows Failed with
# rc 12; an administrative schedule runs its command on the server; a
# scheduler in the background outlives a server restart.
tid="schedules"
. "$(dirname "$0")/lib.sh"

start_server SCH || { fail "server starts"; finish; }
PORT=$SRV_PORT
check "register node" adm "register node n1 node1-secret"
check "set randomize 0" adm "set randomize 0"

src="$T/data"
mkdir -p "$src/sub"
echo "nightly one" > "$src/a.txt"
head -c 300000 /dev/urandom > "$src/sub/b.bin"

# ---- a client schedule that starts now ----
check "define schedule" adm "define schedule standard nightly action=incremental objects='$src' starttime=now duration=10 durunits=minutes period=1 perunits=days"
check "define association" adm "define association standard nightly n1"
adm "query schedule standard nightly" --json > "$T/qs.json" 2>&1
check "query schedule shows the schedule" rows_have_keys "$T/qs.json" \
    schedule_name domain_name action objects start_date_time duration period dayofweek
check "query schedule: 10 minutes every day" python3 - "$T/qs.json" <<'PY'
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"][0]
assert r["schedule_name"] == "NIGHTLY" and r["action"] == "INCREMENTAL", r
assert r["duration"] == "10 minutes" and r["period"] == "1 day", r
PY
adm "query event standard nightly" --json > "$T/qe0.json" 2>&1
check "before the scheduler runs the window is Pending" grep -q '"status": *"Pending"' "$T/qe0.json"

cli n1 node1-secret sched --once --queryschedperiod 1s \
    --schedlogname "$T/sched1.log" > "$T/sched1.out" 2> "$T/sched1.err"
rc=$?
check "coffer sched --once exits with the schedule's rc 0" test "$rc" -eq 0
check "the schedule log has the start and the end" \
    sh -c "grep -q 'Schedule NIGHTLY started' '$T/sched1.log' && grep -q 'ended with return code 0' '$T/sched1.log'"
adm "query event standard nightly" --json > "$T/qe1.json" 2>&1
check "the event shows Completed with result 0" python3 - "$T/qe1.json" <<'PY'
import json, sys
rows = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"]
r = [x for x in rows if x["node_name"] == "N1"]
assert len(r) == 1, rows
r = r[0]
assert r["status"] == "Completed" and r["result"] == 0, r
assert r["actual_start"] and r["scheduled_start"], r
PY
cli n1 node1-secret restore "$src/" "$T/restored/" --subdir > "$T/r1.out" 2>&1
check "the scheduled backup restores identically" same_tree "$src" "$T/restored"
adm "query actlog search=NIGHTLY" > "$T/al1.out" 2>&1
check "the activity log has the schedule's start and end" \
    sh -c "grep -q 'ANR2507I' '$T/al1.out'"

# The window is done: --once finds nothing more within a poll period.
cli n1 node1-secret sched --once --queryschedperiod 2s \
    --schedlogname "$T/sched1.log" > /dev/null 2>&1
check "a completed window does not run twice (rc 8: nothing to do)" test $? -eq 8

# ---- a window that closed without a start ----
adm "define schedule standard yesterday action=incremental objects='$src' startdate=today-1 starttime=now duration=1 durunits=minutes period=1 perunits=onetime" > /dev/null
adm "define association standard yesterday n1" > /dev/null
adm "query event standard yesterday begindate=today-1" --json > "$T/qe2.json" 2>&1
check "a window that closed without a start shows Missed" python3 - "$T/qe2.json" <<'PY'
import json, sys
rows = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"]
assert len(rows) == 1 and rows[0]["status"] == "Missed" and rows[0]["result"] is None, rows
PY

# ---- a failing schedule ----
mkdir -p "$T/vms"
adm "define schedule standard vmnight action=backupvm objects='no-such-vm' starttime=now duration=10 durunits=minutes" > /dev/null
adm "define association standard vmnight n1" > /dev/null
cli n1 node1-secret sched --once --queryschedperiod 1s --vmconfdir "$T/vms" \
    --schedlogname "$T/sched2.log" > /dev/null 2> "$T/sched2.err"
check "a failing schedule makes coffer sched --once exit 12" test $? -eq 12
adm "query event standard vmnight" --json > "$T/qe3.json" 2>&1
check "the failing schedule's event shows Failed with result 12" python3 - "$T/qe3.json" <<'PY'
import json, sys
rows = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"]
assert len(rows) == 1 and rows[0]["status"] == "Failed" and rows[0]["result"] == 12, rows
assert rows[0]["reason"], rows
PY

# ---- an administrative schedule ----
check "define administrative schedule" adm "define schedule expnight type=administrative cmd='expire inventory wait=yes' active=yes starttime=now"
i=0
while :; do
	adm "query event expnight type=administrative" --json > "$T/qe4.json" 2>&1
	grep -q '"status": *"Completed"' "$T/qe4.json" && break
	i=$((i + 1)); [ $i -gt 50 ] && break
	sleep 0.2
done
check "the administrative schedule ran and shows Completed with result 0" python3 - "$T/qe4.json" <<'PY'
import json, sys
rows = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])["rows"]
assert len(rows) == 1 and rows[0]["status"] == "Completed" and rows[0]["result"] == 0, rows
PY
adm "query actlog" > "$T/al2.out" 2>&1
check "the activity log has the expiration's messages" \
    sh -c "grep -q 'ANR2750I' '$T/al2.out' && grep -q 'ANR0987I' '$T/al2.out' && grep -q 'ANR2751I' '$T/al2.out'"
adm "define schedule idle type=administrative cmd='expire inventory' starttime=now" > /dev/null
sleep 1.5
adm "query event idle type=administrative" --json > "$T/qe5.json" 2>&1
check "an administrative schedule is inactive by default (TSM): it does not run" \
    grep -q '"status": *"Pending"' "$T/qe5.json"

# ---- a scheduler in the background outlives a server restart ----
cli_bg n1 node1-secret sched --queryschedperiod 1s --schedlogname "$T/sched3.log" 2> "$T/sched3.err"
SCHED_PID=$CLI_PID
sleep 1
stop_server
sleep 2
start_server SCH "$PORT" || fail "server restarts on its port"
adm "define schedule standard after action=selective objects='$src/a.txt' starttime=now duration=10 durunits=minutes" > /dev/null
adm "define association standard after n1" > /dev/null
i=0
while :; do
	adm "query event standard after" --json > "$T/qe6.json" 2>&1
	grep -q '"status": *"Completed"' "$T/qe6.json" && break
	i=$((i + 1)); [ $i -gt 100 ] && break
	sleep 0.2
done
check "the background scheduler ran a schedule defined after the restart" \
    grep -q '"status": *"Completed"' "$T/qe6.json"
check "the scheduler logged the server's absence" grep -q 'Server unreachable' "$T/sched3.log"
kill -TERM "$SCHED_PID" 2>/dev/null
wait "$SCHED_PID" 2>/dev/null
check "SIGTERM stops the scheduler cleanly" grep -q 'Scheduler stopped (SIGTERM)' "$T/sched3.log"
client_reports
finish
