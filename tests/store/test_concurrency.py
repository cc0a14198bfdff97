"""Several Store objects on one database, and one Store used from many threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from modelport.records import InstanceState
from modelport.store import Store

from .factories import at, make_instance, make_key, make_spec


def test_two_stores_see_each_others_changes(store_url: str) -> None:
    server, cli = Store.open(store_url), Store.open(store_url)
    try:
        seen = server.routing_revision()
        cli.add_deployment(make_spec("chat"))
        assert server.routing_revision() > seen
        assert [d.name for d in server.list_deployments()] == ["chat"]
        server.set_instance(make_instance("chat", 0, state=InstanceState.READY))
        assert [i.state for i in cli.list_instances("chat")] == [InstanceState.READY]
        cli.add_key(make_key("k1"))
        server.revoke_key("k1", at(5))
        revoked = cli.get_key("k1")
        assert revoked is not None and revoked.revoked_at == at(5)
        cli.remove_deployment("chat")
        assert server.get_deployment("chat") is None and server.list_instances() == []
    finally:
        server.close()
        cli.close()


def test_many_threads_write_and_read_without_errors(store: Store) -> None:
    workers, rounds = 8, 15
    for worker in range(workers):
        store.add_deployment(make_spec(f"d{worker}"))
    start = store.routing_revision()
    barrier = threading.Barrier(workers)

    def work(worker: int) -> None:
        barrier.wait()
        name = f"d{worker}"
        for n in range(rounds):
            store.set_instance(make_instance(name, n % 3, reason=f"round {n}"))
            store.add_key(make_key(f"k{worker}-{n}"))
            store.update_deployment(make_spec(name, replicas=n + 1))
            store.routing_revision()
            store.list_instances()
            store.list_deployments()
        store.remove_instances(name, keep=[0])

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work, worker) for worker in range(workers)]:
            future.result()
    assert len(store.list_keys()) == workers * rounds
    assert [(i.deployment, i.ordinal) for i in store.list_instances()] == [
        (f"d{w}", 0) for w in range(workers)
    ]
    assert store.routing_revision() == start + workers * (2 * rounds + 1)
    assert all(d.spec.replicas == rounds for d in store.list_deployments())


def test_stores_in_many_threads_share_one_database(store_url: str) -> None:
    setup = Store.open(store_url)
    setup.add_deployment(make_spec("chat"))
    setup.close()

    def open_and_write(worker: int) -> None:
        own = Store.open(store_url)
        try:
            for n in range(5):
                own.set_instance(make_instance("chat", worker, reason=f"{n}"))
        finally:
            own.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(open_and_write, range(4)))
    check = Store.open(store_url)
    try:
        assert [i.ordinal for i in check.list_instances("chat")] == [0, 1, 2, 3]
    finally:
        check.close()


def test_concurrent_first_opens_migrate_once(store_url: str) -> None:
    barrier = threading.Barrier(4)

    def open_at_once(_: int) -> int:
        barrier.wait()
        opened = Store.open(store_url)
        try:
            return opened.routing_revision()
        finally:
            opened.close()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_at_once, range(4))) == [0, 0, 0, 0]
