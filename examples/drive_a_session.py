#!/usr/bin/env python3
"""Drive a ptyhub session over plain HTTP: start a session from a provider,
type a prompt, wait for a pattern on the screen, read the screen and the raw
output, end the session.

    PTYHUB_URL=http://127.0.0.1:7681 PTYHUB_TOKEN=... \
        python3 examples/drive_a_session.py [PROVIDER [PROMPT [PATTERN]]]

With no arguments: the `shell` provider, `echo the answer is $((6*7))`, and
the pattern `^the answer is \\d+$`. With an AI CLI, for example
`claude "explain this repository" "^⏺"`, the pattern is what the CLI draws
when it answers.

Only the standard library is used.
"""
import json
import os
import sys
import urllib.error
import urllib.request

URL = os.environ.get("PTYHUB_URL", "http://127.0.0.1:7681").rstrip("/")
TOKEN = os.environ.get("PTYHUB_TOKEN", "")
ARGS = sys.argv[1:] + [None] * 3
PROVIDER = ARGS[0] or "shell"
PROMPT = ARGS[1] or "echo the answer is $((6*7))"
PATTERN = ARGS[2] or r"^the answer is \d+$"


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=90) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        error = json.load(e)["error"]
        sys.exit(f"{method} {path}: {e.code} {error['code']}: {error['message']}")


session = call("POST", "/api/sessions", {"provider": PROVIDER, "name": "example", "cols": 120, "rows": 40})
sid = session["id"]
print(f"started session {sid} (pid {session['pid']})")
try:
    # A full-screen CLI takes a moment to draw its prompt: type once it has
    # drawn something.
    call("POST", f"/api/sessions/{sid}/wait", {"pattern": r"\S", "timeout_ms": 30000})
    call("POST", f"/api/sessions/{sid}/input", {"data": PROMPT + "\r"})
    match = call("POST", f"/api/sessions/{sid}/wait", {"pattern": PATTERN, "timeout_ms": 60000})
    print(f"screen row {match['row']}: {match['line']}")
    screen = call("GET", f"/api/sessions/{sid}/screen")
    print(f"the screen has {len(screen['lines'])} lines")
    output = call("GET", f"/api/sessions/{sid}/output?since=0")
    print(f"{output['to'] - output['from']} bytes of output so far")
finally:
    ended = call("DELETE", f"/api/sessions/{sid}")
    print(f"ended: status {ended['status']}")
