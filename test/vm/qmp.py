#!/usr/bin/env python3
"""Minimal QMP client for the VM test: hot-plug and unplug USB sticks, stop QEMU.

  qmp.py SOCKET plug ID IMAGE SERIAL   blockdev-add a raw image as node ID, device_add usb-storage on xhci.0
  qmp.py SOCKET unplug ID              device_del ID, wait for DEVICE_DELETED, blockdev-del ID
  qmp.py SOCKET quit                   stop QEMU now
  qmp.py SOCKET raw JSON               one command, prints the reply

Only the standard library: json over the unix socket. Exit status 1 with the QMP error on stderr.
"""
import json
import socket
import sys
import time


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        # QEMU may still be creating the socket right after it was started.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.file = self.sock.makefile("rb")
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError(f"unexpected greeting {greeting!r}")
        self.execute("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise QMPError("QEMU closed the QMP socket")
        return json.loads(line)

    def execute(self, command, **arguments):
        message = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QMPError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    def wait_event(self, name, match, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event["event"] == name and match(event.get("data", {})):
                    self.events.remove(event)
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QMPError(f"no {name} event within {timeout} s")
            self.sock.settimeout(remaining)
            self.events.append(self._read())


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, verb, args = argv[1], argv[2], argv[3:]
    qmp = QMP(path)
    if verb == "plug" and len(args) == 3:
        node, image, serial = args
        qmp.execute("blockdev-add", **{"driver": "raw", "node-name": node,
                                        "file": {"driver": "file", "filename": image}})
        try:
            qmp.execute("device_add", driver="usb-storage", bus="xhci.0", drive=node, id=node,
                        serial=serial, removable=True)
        except QMPError:
            qmp.execute("blockdev-del", **{"node-name": node})
            raise
    elif verb == "unplug" and len(args) == 1:
        node = args[0]
        qmp.execute("device_del", id=node)
        qmp.wait_event("DEVICE_DELETED", lambda data: data.get("device") == node, 30)
        qmp.execute("blockdev-del", **{"node-name": node})
    elif verb == "quit" and not args:
        try:
            qmp.execute("quit")
        except QMPError:
            pass  # QEMU may close the socket before answering
    elif verb == "raw" and len(args) == 1:
        message = json.loads(args[0])
        print(json.dumps(qmp.execute(message["execute"], **message.get("arguments", {}))))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (QMPError, OSError) as e:
        print(f"qmp.py: {e}", file=sys.stderr)
        sys.exit(1)
