#!/usr/bin/env python3
"""Drive a ptyhub session over plain HTTP: start a shell, type a command,
wait for its output on the screen, read the raw output, end the session.

    PTYHUB_URL=http://127.0.0.1:7681 PTYHUB_TOKEN=... python3 examples/drive_a_session.py

Only the standard library is used.
"""
import json
import os
import sys
import urllib.error
import urllib.request

URL = os.environ.get("PTYHUB_URL", "http://127.0.0.1:7681").rstrip("/")
TOKEN = os.environ.get("PTYHUB_TOKEN", "")


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        error = json.load(e)["error"]
        sys.exit(f"{method} {path}: {e.code} {error['code']}: {error['message']}")


session = call("POST", "/api/sessions", {"provider": "shell", "name": "example"})
sid = session["id"]
print(f"started session {sid} (pid {session['pid']})")
try:
    call("POST", f"/api/sessions/{sid}/input", {"data": "echo the answer is $((6*7))\r"})
    match = call("POST", f"/api/sessions/{sid}/wait", {"pattern": r"^the answer is \d+$", "timeout_ms": 10000})
    print(f"screen row {match['row']}: {match['line']}")
    output = call("GET", f"/api/sessions/{sid}/output?since=0")
    print(f"{output['to'] - output['from']} bytes of output so far")
finally:
    ended = call("DELETE", f"/api/sessions/{sid}")
    print(f"ended: status {ended['status']}")
