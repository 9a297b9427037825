#!/usr/bin/env python3
"""Records real programs' output in a PTY (80x24, TERM=xterm-256color) for
the screen differential harness (web/screen-diff/run.mjs): each program runs
for a moment, is sent its keys, and everything it wrote is kept in
tests/screen-diff/recordings/NAME.bin (a late joiner's view of it mid-run).
Programs not installed are skipped. Regenerate with:
    python3 tests/screen-diff/record.py
"""
import os, pty, select, shutil, signal, struct, fcntl, termios, time, sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recordings")
AI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".tools", "ai-clis", "node_modules", ".bin")
CURSES_BOX = r'''
import curses
def main(s):
    curses.start_color(); curses.init_pair(1, curses.COLOR_YELLOW, curses.COLOR_BLUE)
    s.box(); s.addstr(1, 2, "python curses box", curses.A_BOLD | curses.color_pair(1))
    w = curses.newwin(8, 30, 5, 10); w.box(); w.addstr(2, 2, "inner window", curses.A_UNDERLINE)
    s.refresh(); w.refresh(); s.getch()
curses.wrapper(main)
'''
# name, argv, [(delay seconds, keys)], total seconds
PROGRAMS = [
    ("bash", ["bash", "--norc", "-i"], [(0.3, b"ls --color=always -la /usr\r"), (0.5, b"printf '\\e[1;31mred\\e[0m \\e[4munder\\e[0m\\n'\r"), (0.3, b"echo done\r")], 2.0),
    ("vim", ["vim", "-u", "NONE", "-N", "+set number", "+syntax on", "/etc/services"], [(0.8, b"20j"), (0.3, b":set cursorline\r")], 2.0),
    ("less", ["less", "/etc/services"], [(0.5, b"  "), (0.3, b"/tcp\r")], 1.5),
    ("top", ["top", "-d", "0.5"], [], 2.0),
    ("htop", ["htop", "-d", "5"], [], 2.0),
    ("dialog", ["dialog", "--title", "Box", "--yesno", "ncurses box drawing?", "10", "40"], [], 1.5),
    ("curses", [sys.executable, "-c", CURSES_BOX], [], 1.0),
    # A flood of plain and coloured lines (the screen's plain-text skip).
    ("flood", ["bash", "-c", "seq 1 30000; ls --color=always -l /usr/bin | head -2000; echo end"], [], 3.0),
    ("vim-edit", ["vim", "-u", "NONE", "-N", "+set number", "+syntax on", "+set hlsearch", "/etc/services"],
     [(0.8, b"/tcp\r"), (0.3, b"Gkkk"), (0.3, b"Oinserted \xe4\xb8\xad\xe6\x96\x87 line\x1b"), (0.3, b":split\r"), (0.3, b"\x17j50%")], 3.0),
    # The AI CLIs' first screens, when tests/install-ai-clis.sh installed them.
    ("claude", [os.path.join(AI, "claude")], [], 4.0),
    ("codex", [os.path.join(AI, "codex")], [], 4.0),
    ("gemini", [os.path.join(AI, "gemini")], [], 4.0),
]

def record(name, argv, keys, total):
    if shutil.which(argv[0]) is None and not os.access(argv[0], os.X_OK):
        print(f"skip {name}: {argv[0]} not installed"); return
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", LANG="C.UTF-8", COLUMNS="80", LINES="24", PS1="$ ")
        os.execvp(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    out = bytearray(); start = time.time(); pending = list(keys); next_at = start + (pending[0][0] if pending else 0)
    while time.time() - start < total:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: data = os.read(fd, 65536)
            except OSError: break
            if not data: break
            out += data
        if pending and time.time() >= next_at:
            os.write(fd, pending.pop(0)[1])
            if pending: next_at = time.time() + pending[0][0]
    os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0); os.close(fd)
    with open(os.path.join(OUT, f"{name}.bin"), "wb") as f: f.write(out)
    print(f"{name}: {len(out)} bytes")

os.makedirs(OUT, exist_ok=True)
for p in PROGRAMS: record(*p)
