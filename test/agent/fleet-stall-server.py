#!/usr/bin/env python3
# A fleet server that never answers: it accepts TCP connections on 127.0.0.1 (a free port, written to
# --port-file) and holds each open without sending a byte, so a client's TLS handshake stalls at once. For
# the daemon's tests that a stalled poll blocks nothing and ends at its deadline.
# --log gets one line per event, flushed: "open ID T" when a connection is accepted and "close ID T" when
# the client goes away (T: CLOCK_MONOTONIC seconds, the clock the daemon's deadlines use).
import argparse
import os
import socket
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()

    lock = threading.Lock()

    def log(event, ident):
        with lock, open(args.log, "a") as f:
            f.write(f"{event} {ident} {time.clock_gettime(time.CLOCK_MONOTONIC):.3f}\n")

    def hold(conn, ident):
        # Read and drop whatever the client sends (its ClientHello) until it goes away.
        try:
            with conn:
                while conn.recv(4096):
                    pass
        except OSError:
            pass
        log("close", ident)

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.getsockname()[1]))
    os.rename(tmp, args.port_file)
    ident = 0
    try:
        while True:
            conn, _ = server.accept()
            ident += 1
            log("open", ident)
            threading.Thread(target=hold, args=(conn, ident), daemon=True).start()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
