#!/usr/bin/env python3
# A minimal io.systemd.UserDatabase client for tests and benches: times what userdbctl's fork and exec
# would hide.
#
#   userdb-probe.py get SOCKET SERVICE USER
#       GetUserRecord of USER: prints the userName and exits 0, exits 1 on NoRecordFound, 2 otherwise.
#   userdb-probe.py enumerate SOCKET SERVICE
#       GetUserRecord with "more": prints "records: N" and "enumerate-ms: T".
#   userdb-probe.py gone-at SOCKET SERVICE USER UNTIL_S
#       Asks for USER every 10 ms until NoRecordFound, at most until UNTIL_S + 5 (seconds since the epoch);
#       prints "last-found-ns: T" and "gone-ns: T" (wall clock right after each answer). Exits 1 when USER
#       was still found at the end.
#   userdb-probe.py start-and-ask SOCKET SERVICE USER MOUNTS_BELOW PIDFILE LOG -- COMMAND...
#       Starts COMMAND (stderr to LOG, its pid written to PIDFILE; the caller stops it), connects to SOCKET
#       every millisecond until GetUserRecord of USER is answered with the record, and prints
#       "answer-ms: T" (from just before the exec) and "mounts-at-answer: N" (mounts below MOUNTS_BELOW
#       right after the answer).
import json
import os
import socket
import subprocess
import sys
import time


def call(path, service, params, more=False, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        msg = {"method": "io.systemd.UserDatabase.GetUserRecord", "parameters": dict(params, service=service)}
        if more:
            msg["more"] = True
        s.sendall(json.dumps(msg).encode() + b"\0")
        replies, buf = [], b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                raise ConnectionError("connection closed before the final reply")
            buf += chunk
            while b"\0" in buf:
                text, buf = buf.split(b"\0", 1)
                reply = json.loads(text)
                replies.append(reply)
                if not reply.get("continues"):
                    return replies
    finally:
        s.close()


def mounts_below(prefix):
    prefix = prefix.rstrip("/") + "/"
    with open("/proc/self/mounts") as f:
        return sum(1 for line in f if line.split()[1].startswith(prefix))


def main(argv):
    if len(argv) >= 4 and argv[0] == "get":
        replies = call(argv[1], argv[2], {"userName": argv[3]})
        r = replies[-1]
        if r.get("error") == "io.systemd.UserDatabase.NoRecordFound":
            return 1
        if "error" in r:
            print(r["error"], file=sys.stderr)
            return 2
        print(r["parameters"]["record"]["userName"])
        return 0
    if len(argv) >= 3 and argv[0] == "enumerate":
        start = time.monotonic_ns()
        replies = call(argv[1], argv[2], {}, more=True)
        end = time.monotonic_ns()
        n = sum(1 for r in replies if "error" not in r)
        print(f"records: {n}")
        print(f"enumerate-ms: {(end - start) / 1e6:.1f}")
        return 0
    if len(argv) >= 5 and argv[0] == "gone-at":
        last = 0
        end = (int(argv[4]) + 5) * 10**9
        while time.time_ns() < end:
            r = call(argv[1], argv[2], {"userName": argv[3]})[-1]
            t = time.time_ns()
            if r.get("error") == "io.systemd.UserDatabase.NoRecordFound":
                print(f"last-found-ns: {last}")
                print(f"gone-ns: {t}")
                return 0
            if "error" in r:
                print(r["error"], file=sys.stderr)
                return 2
            last = t
            time.sleep(0.01)
        return 1
    if len(argv) >= 9 and argv[0] == "start-and-ask" and argv[7] == "--":
        sock, service, user, below, pidfile, log = argv[1:7]
        with open(log, "ab") as logf:
            start = time.monotonic_ns()
            p = subprocess.Popen(argv[8:], stderr=logf)
        with open(pidfile, "w") as f:
            f.write(f"{p.pid}\n")
        deadline = start + 30 * 10**9
        while True:
            if p.poll() is not None:
                print(f"the daemon exited ({p.returncode}) before answering", file=sys.stderr)
                return 2
            try:
                r = call(sock, service, {"userName": user}, timeout=5.0)[-1]
                if r.get("parameters", {}).get("record", {}).get("userName") == user:
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic_ns() > deadline:
                print(f"{user} not answered within 30 s", file=sys.stderr)
                return 2
            time.sleep(0.001)
        end = time.monotonic_ns()
        print(f"mounts-at-answer: {mounts_below(below)}")
        print(f"answer-ms: {(end - start) / 1e6:.1f}")
        return 0
    print(__doc__ if __doc__ else "usage: see the head of this file", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
