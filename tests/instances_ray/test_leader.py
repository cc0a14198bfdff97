"""One supervisor among gateways on one PostgreSQL store: the lease itself, then two real `modelport serve`
processes where the leader is SIGKILLed (or stopped) and the other takes over within 10 s, adopting the running engines
(same processes) instead of starting them again."""

from __future__ import annotations

import signal
import sys
import time
import uuid
from pathlib import Path

import openai
import pytest

from modelport.store import Store
from tests.harness import LiveGateway

COMMAND = f"{sys.executable} -m modelport.testing --port {{port}} --model {{name}} --api-key {{secret}}"


def test_the_lease_is_held_renewed_taken_once_lapsed_and_released(postgres_url: str) -> None:
    store = Store.open(postgres_url)
    try:
        assert store.shared and store.supervisor_lease() is None
        assert store.hold_supervisor_lease("a", 0.5)
        assert not store.hold_supervisor_lease("b", 5)  # a holds it
        assert store.hold_supervisor_lease("a", 0.5)  # renewed
        time.sleep(0.7)
        assert store.hold_supervisor_lease("b", 5)  # a's lapsed
        assert not store.hold_supervisor_lease("a", 5)
        store.release_supervisor_lease("a")  # not a's to release
        assert not store.hold_supervisor_lease("a", 5)
        store.release_supervisor_lease("b")
        assert store.hold_supervisor_lease("a", 5)
        holder = store.supervisor_lease()
        assert holder is not None and holder[0] == "a"
        assert store.shared_secret("k", "first") == "first" and store.shared_secret("k", "second") == "first"
    finally:
        store.close()


def engine_pids(name: str) -> set[int]:
    """The engine processes of a deployment (not their shims), found by their command line."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"modelport.testing" in argv and name.encode() in argv and b"modelport.instances.shim" not in argv:
            found.add(int(entry.name))
    return found


def holder_pid(store: Store) -> int | None:
    lease = store.supervisor_lease()
    return int(lease[0].split(":")[1]) if lease is not None else None


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_the_supervising_gateway_hands_over_without_restarting_instances(
        tmp_path: Path, postgres_url: str, sig: signal.Signals) -> None:
    name = f"adopt-{uuid.uuid4().hex[:8]}"
    first = LiveGateway(tmp_path / "a", database_url=postgres_url).start()
    second = LiveGateway(tmp_path / "b", database_url=postgres_url)
    store = Store.open(postgres_url)
    try:
        second.start()
        (second.data_dir / "admin-key").write_text(first.admin_key)  # the store's key, made by the first
        assert first.process is not None and second.process is not None
        deadline = time.monotonic() + 10
        while holder_pid(store) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert holder_pid(store) == first.process.pid  # the first started first: it supervises
        first.cli("deploy", name, "--command", COMMAND, "--replicas", "2", remote=True)
        second.wait_ready(name, timeout=60)  # the second routes to the first's instances
        deadline = time.monotonic() + 60
        while [i["state"] for i in second.api("GET", f"/api/deployments/{name}").json()["instances"]] != \
                ["ready", "ready"] and time.monotonic() < deadline:
            time.sleep(0.1)
        before = second.api("GET", f"/api/deployments/{name}").json()["instances"]
        engines = engine_pids(name)
        assert len(engines) == 2, engines  # one supervisor started them: not two sets
        client = openai.OpenAI(base_url=second.v1, api_key=first.admin_key, max_retries=0)
        assert client.chat.completions.create(model=name, messages=[{"role": "user", "content": "hi"}]) \
            .choices[0].message.content == "Echo: hi"

        killed_at = time.monotonic()
        first.stop(sig)  # SIGTERM: it hands over (lease released at once); SIGKILL: its lease lapses
        while holder_pid(store) != second.process.pid and time.monotonic() - killed_at < 15:
            time.sleep(0.05)
        handover = time.monotonic() - killed_at
        assert holder_pid(store) == second.process.pid and handover < 10, handover
        deadline = time.monotonic() + 10
        after = before
        while time.monotonic() < deadline:
            after = second.api("GET", f"/api/deployments/{name}").json()["instances"]
            if all(i["reason"].startswith("adopted") for i in after):
                break
            time.sleep(0.1)
        adopted_at = time.monotonic() - killed_at
        assert [(i["state"], i["pid"], i["url"]) for i in after] == \
            [("ready", i["pid"], i["url"]) for i in before], (before, after)
        assert engine_pids(name) == engines  # the very same engine processes serve on
        assert client.chat.completions.create(model=name, messages=[{"role": "user", "content": "hi"}]) \
            .choices[0].message.content == "Echo: hi"
        print(f"handover {handover:.2f} s, adopted {adopted_at:.2f} s after {sig.name}")

        second.api("DELETE", f"/api/deployments/{name}")  # the new supervisor stops what it adopted
        deadline = time.monotonic() + 20
        while engine_pids(name) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not engine_pids(name)
    finally:
        store.close()
        if second.process is not None:
            second.stop()
        if first.process is not None and first.process.poll() is None:
            first.stop()
