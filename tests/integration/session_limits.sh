#!/bin/sh
# Connection floods and slow clients: MAXSESSIONS bounds the sessions
# open at once (logged on or not) and refuses the next with a message
# that says so, while an administrator can still log on; a connection
# that never logs on is closed after LOGONTIMEOUT, which frees its slot;
# the server serves again once the flood is gone.
tid="session-limits"
. "$(dirname "$0")/lib.sh"

SRV_DIR="$T/LIMITS"
"$COFFERD" format --dir "$SRV_DIR" --name LIMITS --port 0 >"$T/format.out" 2>&1 ||
	{ cat "$T/format.out"; fail "format"; finish; }
printf 'MAXSESSIONS 3\nLOGONTIMEOUT 3\n' >>"$SRV_DIR/cofferd.opt"
start_server LIMITS || { fail "server starts with MAXSESSIONS 3"; finish; }
adm "register node web01 web01-secret" >/dev/null
mkdir -p "$T/data"; echo hello >"$T/data/f"
check "a node logs on below the limit" cli web01 web01-secret query filespace

# Three silent TLS connections (a flood that never logs on).
flood=
for i in 1 2 3; do
	sleep 30 | openssl s_client -quiet -connect "127.0.0.1:$SRV_PORT" \
	    -CAfile "$SRV_DIR/tls/ca.pem" >/dev/null 2>&1 &
	flood="$flood $!"
	pids="$pids $!"
done
sleep 0.5
cli web01 web01-secret query filespace >"$T/refused.out" 2>&1
rc=$?
check "the session over the limit is refused (exit $rc)" test "$rc" -ne 0
check "with a message naming MAXSESSIONS" grep -q "ANR0429W.*MAXSESSIONS" "$T/refused.out"
check "an administrator can still log on" adm "query session"

# LOGONTIMEOUT closes the silent connections; the slots come back.
sleep 4
check "after the logon timeout the node logs on again" cli web01 web01-secret incremental "$T/data"
grep -q "no logon within 3 s" "$SRV_DIR/stderr" && ok "the server says why it closed them" ||
	fail "the server says why it closed them"
for p in $flood; do kill "$p" 2>/dev/null; done
check "the server still runs" kill -0 "$SRV_PID"
finish
