#!/bin/sh
# Two servers that know each other prove it over TLS with the server
# password, both ways (PING SERVER); a wrong password, a CA file that is
# not the peer's and a server the peer does not know are refused, each
# naming the reason, on the caller's side and in the target's actlog.
tid="server-to-server authentication"
. "$(dirname "$0")/lib.sh"

start_server PRIMARY || { fail "primary starts"; finish; }
P_DIR=$SRV_DIR P_PORT=$SRV_PORT P_PID=$SRV_PID
start_server HOTSITE || { fail "hot site starts"; finish; }
H_DIR=$SRV_DIR H_PORT=$SRV_PORT H_PID=$SRV_PID

on_primary() { SRV_DIR=$P_DIR SRV_PORT=$P_PORT adm "$@"; }
on_hotsite() { SRV_DIR=$H_DIR SRV_PORT=$H_PORT adm "$@"; }

on_primary "define server hotsite serverpassword=repl-secret-1 hladdress=127.0.0.1 lladdress=$H_PORT cafile=$H_DIR/tls/ca.pem description='hot site'" > "$T/def1.out" 2>&1
check "primary defines the hot site" grep -q "ANR1660I Server HOTSITE defined" "$T/def1.out"
on_hotsite "define server primary serverpassword=repl-secret-1 hladdress=127.0.0.1 lladdress=$P_PORT cafile=$P_DIR/tls/ca.pem" > "$T/def2.out" 2>&1
check "hot site defines the primary" grep -q "ANR1660I Server PRIMARY defined" "$T/def2.out"

on_primary "query server" --json > "$T/qs.json" 2>&1
check "query server lists the columns" rows_have_keys "$T/qs.json" server_name hladdress lladdress cafile description defined
check "query server never shows a key or password" sh -c "! grep -qi 'repl-secret-1\|\"key\"' '$T/qs.json'"
on_primary "query actlog search=hotsite" > "$T/actlog1.out" 2>&1
check "... the command echo is there, password hidden" grep -q "serverpassword=?\*\*\*?" "$T/actlog1.out"
check "... and the password is not" sh -c "! grep -q repl-secret-1 '$T/actlog1.out'"

on_primary "ping server hotsite" > "$T/ping1.out" 2>&1
rc=$?
check "ping primary -> hot site succeeds (rc 0)" test $rc -eq 0
check "... saying ANR1706I" grep -q "ANR1706I Ping for server 'HOTSITE' was able to establish a connection." "$T/ping1.out"
on_hotsite "ping server primary" > "$T/ping2.out" 2>&1
check "ping hot site -> primary succeeds" grep -q "ANR1706I Ping for server 'PRIMARY'" "$T/ping2.out"
on_hotsite "query actlog search=PRIMARY" > "$T/actlog2.out" 2>&1
check "the target logs the server session" grep -q "started for server PRIMARY" "$T/actlog2.out"

# A wrong password on one side: both sides say why.
on_hotsite "update server primary serverpassword=not-the-same-1" >/dev/null 2>&1
on_primary "ping server hotsite" > "$T/ping3.out" 2>&1
rc=$?
check "wrong password: ping fails (rc 12)" test $rc -eq 12
check "... the caller says the passwords differ" grep -q "HOTSITE failed to prove the server password: the passwords defined on the two servers differ" "$T/ping3.out"
on_hotsite "query actlog search=mismatch" > "$T/actlog3.out" 2>&1
check "... the target's actlog says password mismatch" grep -q "server PRIMARY .*server password mismatch" "$T/actlog3.out"
on_hotsite "update server primary serverpassword=repl-secret-1" >/dev/null 2>&1
check "same password again: ping succeeds" on_primary "ping server hotsite"

# A CA file that is not the hot site's: refused naming the certificate.
"$COFFERD" format --dir "$T/other" --name OTHER --port 0 >/dev/null 2>&1
on_primary "update server hotsite cafile=$T/other/tls/ca.pem" >/dev/null 2>&1
on_primary "ping server hotsite" > "$T/ping4.out" 2>&1
rc=$?
check "foreign CA: ping fails (rc 12)" test $rc -eq 12
check "... naming the certificate" grep -qi "certificate" "$T/ping4.out"
on_primary "update server hotsite cafile=$H_DIR/tls/ca.pem" >/dev/null 2>&1

# A server the peer does not know.
on_hotsite "delete server primary" > "$T/del.out" 2>&1
check "hot site deletes the primary" grep -q "ANR1662I" "$T/del.out"
on_primary "ping server hotsite" > "$T/ping5.out" 2>&1
rc=$?
check "undefined at the target: ping fails (rc 12)" test $rc -eq 12
check "... with ANR0453W" grep -q "ANR0453W.*server PRIMARY is not defined here" "$T/ping5.out"
on_primary "ping server nosuch" > "$T/ping6.out" 2>&1
check "ping of a server not defined here is refused" grep -q "ANR1710E" "$T/ping6.out"

# SET REPLSERVER and QUERY STATUS; DELETE SERVER refused while in use.
on_primary "set replserver hotsite" >/dev/null 2>&1
on_primary "query status" --json > "$T/status.json" 2>&1
check "query status shows the replication server" python3 -c 'import json,sys
l=[x for x in open(sys.argv[1]) if x.strip().startswith("{")][-1]
o=json.loads(l); sys.exit(0 if o.get("replserver")=="HOTSITE" and o.get("server_name")=="PRIMARY" else 1)' "$T/status.json"
on_primary "delete server hotsite" > "$T/del2.out" 2>&1
check "the replication server cannot be deleted" grep -q "ANR1713E" "$T/del2.out"

# A node in RECEIVE mode is read-only for itself.
on_primary "register node n1 node1-secret" >/dev/null 2>&1
mkdir -p "$T/data" && echo hello > "$T/data/f"
SRV_DIR=$P_DIR SRV_PORT=$P_PORT cli n1 node1-secret incremental "$T/data" > "$T/b1.out" 2>&1
check "a SEND node backs up" test $? -eq 0
on_primary "update node n1 replmode=receive" >/dev/null 2>&1
SRV_DIR=$P_DIR SRV_PORT=$P_PORT cli n1 node1-secret incremental "$T/data" > "$T/b2.out" 2>&1
check "a RECEIVE node's backup is refused" grep -q "node N1 is a replication target (replmode RECEIVE); backups are refused" "$T/b2.out"
SRV_DIR=$P_DIR SRV_PORT=$P_PORT cli n1 node1-secret query filespace > "$T/q.out" 2>&1
check "... but it can still query" test $? -eq 0

check "primary alive" kill -0 "$P_PID"
check "hot site alive" kill -0 "$H_PID"
finish
