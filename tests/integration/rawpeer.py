#!/usr/bin/env python3
"""A hostile node, for tests/integration/authority.sh: speaks the wire
protocol of common/proto.h directly over TLS 1.3 (Python's ssl module),
logs on as a node, and sends crafted frames at another node's data.

    rawpeer.py HOST:PORT CAFILE NODE PASSWORD VICTIM_FS_NAME

Prints TAP-like "ok - authority: ..." / "not ok - ..." lines (counted by
tools/test.sh) and exits 1 when any check failed.  Loopback only."""
import socket, ssl, struct, sys

HELLO, HELLO_OK, AUTH, AUTH_OK, ERROR = 1, 2, 3, 4, 5
FS_OPEN, FS_OK, INV_GET, INV_PAGE = 10, 11, 12, 13
OBJ_PUT, OBJ_META, OBJ_GONE, TXN_COMMIT, TXN_OK = 17, 18, 19, 20, 21
FS_LIST, FS_PAGE, OBJ_LIST, OBJ_PAGE, CHUNK_GET, CHUNK_DATA = 30, 31, 32, 33, 34, 35
ADM_CMD, REPL_NODE, REPL_CHUNK_GET = 50, 60, 70
MAGIC, VERSION = 0x52464f43, 1

def u8(v): return struct.pack("<B", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def i64(v): return struct.pack("<q", v)
def s(t): b = t.encode(); return u32(len(b)) + b

host, port = sys.argv[1].rsplit(":", 1)
cafile, node, pw, victim_fs = sys.argv[2:6]
assert host in ("127.0.0.1", "localhost", "::1"), "loopback only"
failed = 0

def report(ok, what):
    global failed
    print(("ok" if ok else "not ok") + " - authority: " + what)
    failed += not ok

class Peer:
    def __init__(self, tls_max=None):
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False      # the CA is the project's own
        if tls_max is not None:
            ctx.maximum_version = tls_max
        raw = socket.create_connection((host, int(port)), timeout=10)
        self.c = ctx.wrap_socket(raw)

    def send(self, t, payload=b""):
        self.c.sendall(struct.pack("<IHH", len(payload), t, 0) + payload)

    def recv(self):
        hdr = self._read(8)
        if hdr is None:
            return None, b""
        n, t, _ = struct.unpack("<IHH", hdr)
        return t, self._read(n) or b""

    def _read(self, n):
        out = b""
        while len(out) < n:
            try:
                b = self.c.recv(n - len(out))
            except (ssl.SSLError, OSError):
                return None
            if not b:
                return None
            out += b
        return out

    def logon(self):
        self.send(HELLO, u32(MAGIC) + struct.pack("<HH", VERSION, VERSION) + s("rawpeer"))
        t, _ = self.recv()
        assert t == HELLO_OK, t
        self.send(AUTH, u8(1) + s(node) + s(pw))
        t, p = self.recv()
        assert t == AUTH_OK, (t, p)
        return self

def ask(frames, what_ok):
    """Send frames on a fresh session; return the reply types in order
    (None when the server closed)."""
    p = Peer().logon()
    out = []
    for t, payload, replies in frames:
        p.send(t, payload)
        for _ in range(replies):
            rt, rp = p.recv()
            out.append((rt, rp))
            if rt in (None, ERROR):
                return out
    return out

def refused(replies):
    return any(t in (None, ERROR) for t, _ in replies)

# Object ids are small integers: guess the victim's.
for oid in range(1, 13):
    r = ask([(CHUNK_GET, u64(oid) + u32(0) + u32(1), 1)], "")
    report(not any(t == CHUNK_DATA for t, _ in r),
           "CHUNK_GET of object %d (another node's) returns no data" % oid)

r = ask([(OBJ_LIST, s(victim_fs) + s("") + i64(0) + u8(1) + s("") + u32(100), 1)], "")
leak = any(t == OBJ_PAGE and len(p) > 5 and struct.unpack("<I", p[1:5])[0] > 0 for t, p in r)
report(not leak, "OBJ_LIST of the victim's filespace by name lists nothing")

r = ask([(FS_LIST, b"", 1)], "")
names = r[0][1] if r and r[0][0] == FS_PAGE else b""
report(r and r[0][0] == FS_PAGE and victim_fs.encode() not in names,
       "FS_LIST shows none of the victim's filespaces")

for fs in range(1, 4):
    r = ask([(INV_GET, u64(fs) + s("") + u32(100), 1)], "")
    ok = refused(r) or all(t == INV_PAGE and p[1:5] == u32(0) for t, p in r)
    report(ok, "INV_GET of filespace id %d (not ours) is refused" % fs)
    r = ask([(OBJ_GONE, u64(fs) + s(victim_fs + "/a.txt"), 0),
             (OBJ_META, u64(fs) + s(victim_fs + "/b.txt") + u32(0o100777) + u32(0) + u32(0) + i64(1), 0),
             (TXN_COMMIT, u64(fs) + u8(1), 1)], "")
    committed = any(t == TXN_OK and len(p) >= 4 and struct.unpack("<I", p[:4])[0] > 0 for t, p in r)
    report(not committed, "OBJ_GONE/OBJ_META on filespace id %d (not ours) change nothing" % fs)

r = ask([(ADM_CMD, s("register node intruder pw-intruder-1"), 1)], "")
report(refused(r), "an admin command in a node session is refused")
r = ask([(REPL_NODE, s(node) + s("x") + s("STANDARD") + s("") + i64(0), 1)], "")
report(refused(r), "a replication frame in a node session is refused")
r = ask([(REPL_CHUNK_GET, u32(1) + bytes(32), 1)], "")
report(refused(r), "a chunk repair request in a node session is refused")

# TLS 1.3 only: a client that offers at most TLS 1.2 does not get in.
try:
    Peer(tls_max=ssl.TLSVersion.TLSv1_2).logon()
    report(False, "a TLS 1.2 client is refused")
except (ssl.SSLError, OSError, AssertionError):
    report(True, "a TLS 1.2 client is refused")
sys.exit(1 if failed else 0)
