#!/usr/bin/env python3
# A small HTTPS server for the fleet tests: serves a directory over TLS on 127.0.0.1 (a free port, written
# to --port-file), with strong ETags and If-None-Match (304). Per-file switches, next to the served file:
#   FILE.delay     seconds to sleep before answering (a slow server; the request is logged at once)
#   FILE.nolength  send the body without Content-Length, ending it by closing the connection
#   FILE.trickle   seconds between bytes: the whole response (status line, headers, body) trickles out one
#                  byte at a time (a server that is slow but never silent long enough to look stalled)
# A URL path P serves DIR/P, or DIR/P/index when DIR/P is a directory. Every request is logged to --log as
# "METHOD PATH STATUS" (one line, flushed), so tests can count requests, and to --timed-log (optional) as
# "METHOD PATH STATUS T" (T: CLOCK_MONOTONIC seconds), so tests can tell when.
import argparse
import hashlib
import http.server
import os
import ssl
import sys
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # close-delimited bodies for .nolength

    def log_message(self, fmt, *args):
        pass

    def log_request_line(self, status):
        with open(self.server.log_path, "a") as log:
            log.write(f"{self.command} {self.path} {status}\n")
        if self.server.timed_log_path:
            with open(self.server.timed_log_path, "a") as log:
                t = time.clock_gettime(time.CLOCK_MONOTONIC)
                log.write(f"{self.command} {self.path} {status} {t:.3f}\n")

    def resolve(self):
        path = urllib.parse.urlsplit(self.path).path
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            return None
        full = os.path.join(self.server.root, *parts)
        if os.path.isdir(full):
            full = os.path.join(full, "index")
        return full if os.path.isfile(full) else None

    def do_GET(self):
        full = self.resolve()
        if full is None:
            self.log_request_line(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(full, "rb") as f:
            body = f.read()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        status = 304 if self.headers.get("If-None-Match") == etag else 200
        # Logged when the request arrives, also for a slow answer: a line written after the delay would
        # land in the middle of a later check that counts requests.
        self.log_request_line(status)
        if os.path.exists(full + ".delay"):
            with open(full + ".delay") as f:
                time.sleep(float(f.read().strip()))
        if status == 304:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        if os.path.exists(full + ".trickle"):
            with open(full + ".trickle") as f:
                self.trickle(float(f.read().strip()), body, etag)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x.ubuntu.assertion")
        self.send_header("ETag", etag)
        if not os.path.exists(full + ".nolength"):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def trickle(self, seconds, body, etag):
        head = (f"HTTP/1.0 200 OK\r\nContent-Type: application/x.ubuntu.assertion\r\nETag: {etag}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        data = head + body
        try:
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                time.sleep(seconds)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--timed-log")
    args = ap.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.root = os.path.abspath(args.dir)
    server.log_path = args.log
    server.timed_log_path = args.timed_log
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
