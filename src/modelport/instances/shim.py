"""Runs an external engine command and makes sure nothing of it outlives the gateway.

`python -m modelport.instances.shim -- CMD ARGS...` starts CMD in this process's group and waits. It
watches its parent: if the gateway dies (even by SIGKILL), the shim is re-parented and kills the whole
group, grandchildren included (vLLM and friends fork workers). SIGTERM is passed on to the group, then
SIGKILL after a grace period.

`--keep-while FILE --keep-seconds N` (gateways sharing a PostgreSQL store): when the gateway dies, the group
lives on while FILE was touched within the last N seconds, so that the gateway elected next adopts the
running engine (it touches FILE from then on) instead of starting it again. Nobody touching it: killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

GRACE_SECONDS = 10.0


def _group_members() -> list[int]:
    """Other processes in this process group (the engine and whatever it forked)."""
    group, me, members = os.getpgrp(), os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # after "pid (comm)": state, ppid, pgrp
            members.append(int(entry))
    return members


def _kill_group(sig: int) -> None:
    for pid in _group_members():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _kept(keeper: str | None, seconds: float) -> bool:
    """Whether a supervising gateway touched `keeper` within `seconds`."""
    if keeper is None:
        return False
    try:
        return time.time() - os.stat(keeper).st_mtime < seconds
    except OSError:
        return False


def _options(argv: list[str]) -> tuple[str | None, float, list[str]]:
    """(keeper file, its seconds, the command) from `[--keep-while FILE --keep-seconds N] -- CMD...`."""
    keeper, seconds = None, 0.0
    while argv[:1] in (["--keep-while"], ["--keep-seconds"]) and len(argv) >= 2:
        if argv[0] == "--keep-while":
            keeper = argv[1]
        else:
            seconds = float(argv[1])
        argv = argv[2:]
    return keeper, seconds, argv[1:] if argv[:1] == ["--"] else argv


def main(argv: list[str]) -> int:
    keeper, keep_seconds, argv = _options(argv)
    if not argv:
        print("usage: python -m modelport.instances.shim [--keep-while FILE --keep-seconds N] -- COMMAND [ARGS...]",
              file=sys.stderr)
        return 2
    parent = os.getppid()
    child = subprocess.Popen(argv)
    stopping = {"since": 0.0}

    def on_term(signum: int, frame: object) -> None:
        stopping["since"] = stopping["since"] or time.monotonic()
        child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while True:
        try:
            code = child.wait(timeout=0.5)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _kill_group(signal.SIGKILL if stopping["since"] else signal.SIGTERM)  # leftovers of the engine
            return 128 - code if code < 0 else code  # the shell's convention for "killed by signal N"
        except subprocess.TimeoutExpired:
            pass
        if os.getppid() != parent and not _kept(keeper, keep_seconds):  # the gateway is gone, nobody adopted us
            _kill_group(signal.SIGTERM)
            time.sleep(1)
            _kill_group(signal.SIGKILL)
            return 1
        if stopping["since"] and time.monotonic() - stopping["since"] > GRACE_SECONDS:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _kill_group(signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
