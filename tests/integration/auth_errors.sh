#!/bin/sh
# Wrong passwords, locked accounts, foreign certificates and malformed
# frames get clear errors, and the server survives them.
tid="authentication and errors"
. "$(dirname "$0")/lib.sh"

start_server SRV3 || { fail "server starts"; finish; }
adm "register node n3 node3-secret" >/dev/null
adm "set invalidpwlimit 3" >/dev/null

cli n3 wrong-password query filespace > "$T/wrong.out" 2>&1
rc=$?
check "wrong password exits 12" test $rc -eq 12
check "wrong password message says so" grep -qi "password" "$T/wrong.out"
cli n3 wrong-password query filespace >/dev/null 2>&1
cli n3 wrong-password query filespace >/dev/null 2>&1
cli n3 node3-secret query filespace > "$T/locked.out" 2>&1
check "account locked after invalidpwlimit failures" grep -qi "locked" "$T/locked.out"
adm "unlock node n3" >/dev/null
check "unlocked node logs on" cli n3 node3-secret query filespace

COFFER_ADMIN_PASSWORD=nope "$ADMIN" --server "127.0.0.1:$SRV_PORT" --ca "$SRV_DIR/tls/ca.pem" -c "q node" > "$T/admwrong.out" 2>&1
check "admin with wrong password refused" grep -qi "password" "$T/admwrong.out"
adm "frobnicate node" > "$T/unknown.out" 2>&1
check "unknown command named in the error" grep -qi "unknown command" "$T/unknown.out"

# A certificate from another server is refused, naming the reason.
"$COFFERD" format --dir "$T/other" --name OTHER --port 0 >/dev/null 2>&1
COFFER_PASSWORD=node3-secret "$COFFER" --server "127.0.0.1:$SRV_PORT" --ca "$T/other/tls/ca.pem" --node n3 query filespace > "$T/cert.out" 2>&1
check "foreign CA refused with a verify error" grep -qi "verif" "$T/cert.out"

# Garbage and oversized frames do not crash the server.
python3 - "$SRV_PORT" <<'PY'
import socket, ssl, struct, sys
port = int(sys.argv[1])
for payload in (b"GET / HTTP/1.0\r\n\r\n", struct.pack('<IHH', 0x7fffffff, 1, 0), b"\x00" * 64):
    s = socket.create_connection(("127.0.0.1", port))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    try:
        t = ctx.wrap_socket(s); t.sendall(payload); t.recv(1024)
    except Exception:
        pass
    s.close()
    # plain TCP garbage too
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(payload); s.close()
PY
check "server still answers after garbage" cli n3 node3-secret query filespace
check "server process alive" kill -0 "$SRV_PID"
finish
