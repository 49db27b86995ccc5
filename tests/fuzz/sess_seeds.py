#!/usr/bin/env python3
"""Write the seed corpus of fuzz_sess (tests/fuzz/corpus/sess/): valid
frame sequences of a node's backup, restore and queries, and of a peer
server's replication and repair, in the wire format of common/proto.h, so
that the fuzzer starts deep inside the handlers.  Rerun after a protocol
change:  python3 tests/fuzz/sess_seeds.py tests/fuzz/corpus/sess"""
import hashlib, os, struct, sys

T = dict(FS_OPEN=10, INV_GET=12, CHUNK_ASK=14, CHUNK_PUT=16, OBJ_PUT=17,
         OBJ_META=18, OBJ_GONE=19, TXN_COMMIT=20, OBJ_RECIPE=22,
         TXN_ABORT=24, RECIPE_GET=25, FS_LIST=30, OBJ_LIST=32, CHUNK_GET=34,
         REPL_NODE=60, REPL_FS=61, REPL_LIST=63, REPL_OBJ=65, REPL_DEL=66,
         REPL_STATE=67, REPL_DONE=68, REPL_CHUNK_GET=70,
         SCHED_QUERY=40, SCHED_REPORT=42)

def u8(v): return struct.pack("<B", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def i64(v): return struct.pack("<q", v)
def bstr(b): return u32(len(b)) + b
def s(t): return bstr(t.encode())
def frame(name, payload=b""):
    return u32(len(payload)) + struct.pack("<HH", T[name], 0) + payload

DATA = b"coffer fuzz seed data " * 20
H = hashlib.sha256(DATA).digest()
RECIPE = H + u32(len(DATA))
UUID = bytes(range(16))

def objmeta(path, otype=1, with_recipe=True, uuid=bytes(16), state=1):
    m = (u64(0) + u8(otype) + u8(state) + s(path) + u64(len(DATA)) +
         u32(0o100644) + u32(0) + u32(0) + i64(1700000000 * 10**9) +
         i64(1700000000 * 10**9) + i64(0) + i64(0) + uuid + s(""))
    return m + (bstr(RECIPE) if with_recipe else b"")

chunk_put = frame("CHUNK_PUT", H + u32(len(DATA)) + u8(1) + bstr(DATA))
backup = (frame("FS_OPEN", s("/home") + s("ext4")) +
          frame("INV_GET", u64(1) + s("") + u32(100)) +
          frame("CHUNK_ASK", u32(1) + H) + chunk_put +
          frame("OBJ_PUT", u64(1) + objmeta("/home/a")) +
          frame("OBJ_META", u64(1) + s("/home/b") + u32(0o100600) + u32(1) +
                u32(1) + i64(5)) +
          frame("OBJ_GONE", u64(1) + s("/home/c")) +
          frame("OBJ_RECIPE", u64(1) + s("/home/a")) +
          frame("TXN_COMMIT", u64(1) + u8(1)))
# VM:mgmt01 gets the next filespace id, 3 in a fresh run.
vm = (frame("FS_OPEN", s("VM:mgmt01") + s("VM")) +
      frame("CHUNK_ASK", u32(1) + H) + chunk_put +
      frame("OBJ_PUT", u64(3) + objmeta("/disks/vda", 6)) +
      frame("TXN_COMMIT", u64(3) + u8(3)))
restore = (frame("FS_LIST") +
           frame("OBJ_LIST", s("/home") + s("/home") + i64(0) + u8(1) + s("") +
                 u32(64)) +
           frame("CHUNK_GET", u64(1) + u32(0) + u32(1)) +
           frame("RECIPE_GET", u64(1)))
# A VM restore's listing without recipes (OBJ_LIST options byte 1).
vm_list = (frame("OBJ_LIST", s("VM:mgmt01") + s("") + i64(0) + u8(0) + s("") +
                 u32(64) + u8(1)) +
           frame("RECIPE_GET", u64(1)))
# A VM version in two parts (ATOMIC | STAGE, then ATOMIC | FINAL).
vm_parts = (frame("FS_OPEN", s("VM:mgmt01") + s("VM")) +
            frame("CHUNK_ASK", u32(1) + H) + chunk_put +
            frame("OBJ_PUT", u64(3) + objmeta("/disks/vda", 6)) +
            frame("TXN_COMMIT", u64(3) + u8(6)) +
            frame("OBJ_PUT", u64(3) + objmeta("/disks/vda/000001", 6)) +
            frame("TXN_COMMIT", u64(3) + u8(3)))
abort = (frame("FS_OPEN", s("/home") + s("ext4")) + chunk_put +
         frame("TXN_ABORT", u64(0)))
repl = (frame("REPL_NODE", s("NODE2") + s("x") + s("STANDARD") + s("") +
              i64(86400)) +
        frame("REPL_FS", s("/data") + s("ext4") + u8(0) + u32(0)) +
        frame("REPL_LIST", u64(2) + bytes(16) + u32(100) + u8(1)) +
        frame("CHUNK_ASK", u32(1) + H) + chunk_put +
        frame("REPL_OBJ", u64(2) + objmeta("/data/x", uuid=UUID)) +
        frame("TXN_COMMIT", u64(2) + u8(0)) +
        frame("REPL_STATE", u64(2) + UUID + u8(0) + i64(1700000001)) +
        frame("REPL_DEL", u64(2) + UUID) +
        frame("TXN_COMMIT", u64(2) + u8(0)) +
        frame("REPL_DONE", s("NODE2") + i64(1700000002) + i64(1700000000)))
repair = frame("REPL_CHUNK_GET", u32(2) + H + bytes(32))
sched = (frame("SCHED_QUERY") +
         frame("SCHED_REPORT", s("STANDARD") + s("NIGHTLY") + i64(1700000000) +
               u8(1) + u8(0) + s("")) +
         frame("SCHED_REPORT", s("STANDARD") + s("NIGHTLY") + i64(1700000000) +
               u8(2) + u8(4) + s("ANS1802E some files failed")))

out = sys.argv[1] if len(sys.argv) > 1 else "corpus/sess"
os.makedirs(out, exist_ok=True)
# The first byte picks the session: even a node's, odd a peer server's.
for name, kind, body in [("backup", 0, backup), ("vm", 0, vm),
                         ("vm_parts", 0, vm_parts),
                         ("vm_list", 0, vm + vm_list),
                         ("restore", 0, backup + restore),
                         ("abort", 0, abort), ("repl", 1, repl),
                         ("repair", 1, repl + repair), ("sched", 0, sched)]:
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([kind]) + body)
