#!/usr/bin/env python3
"""Questions about a guest journal dump (`journalctl -o json`, one entry per line), for the VM test.

  journal.py FILE count [FIELD=VALUE...]          entries matching every FIELD=VALUE (VALUE may be a|b|c)
  journal.py FILE get FIELD [FIELD=VALUE...]      FIELD of each matching entry, one per line
  journal.py FILE time [FIELD=VALUE...]           __REALTIME_TIMESTAMP of the first match, in seconds
  journal.py FILE lines [FIELD=VALUE...]          MESSAGE of each matching entry (for people)
"""
import json
import sys


def entries(path):
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return  # the guest wrote no dump: nothing matches
    with f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def matches(entry, filters):
    for f in filters:
        field, _, values = f.partition("=")
        value = entry.get(field)
        if not isinstance(value, str) or value not in values.split("|"):
            return False
    return True


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, verb = argv[1], argv[2]
    args = argv[3:]
    field = None
    if verb == "get":
        field, args = args[0], args[1:]
    found = [e for e in entries(path) if matches(e, args)]
    if verb == "count":
        print(len(found))
    elif verb == "get":
        for e in found:
            print(e.get(field, ""))
    elif verb == "time":
        if not found:
            return 1
        print("%.6f" % (int(found[0]["__REALTIME_TIMESTAMP"]) / 1e6))
    elif verb == "lines":
        for e in found:
            print(e.get("MESSAGE", ""))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
