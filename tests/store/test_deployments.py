"""Deployments: add, conflict, update, get, list, remove; specs round-trip exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modelport import errors
from modelport.records import Category, DeploymentSpec, Timeouts
from modelport.store import Store

from .factories import make_instance, make_spec


def full_spec(name: str = "chat") -> DeploymentSpec:
    """A spec with every field away from its default."""
    return DeploymentSpec(
        name=name,
        category=Category.RERANKER,
        urls=("http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"),
        upstream_key="sk-upstream",
        upstream_model="BAAI/bge-reranker",
        health_path="/health",
        replicas=3,
        engine="vllm",
        model="/models/bge",
        command=("vllm", "serve", "/models/bge", "--port", "{port}"),
        engine_args={"max-model-len": "4096", "dtype": "half"},
        generic_proxy=True,
        speaks_anthropic=True,
        timeouts=Timeouts(connect=1.5, first_byte=20.0, idle=7.25, total=99.0),
    )


def test_add_returns_and_get_round_trips_exactly(store: Store) -> None:
    spec = full_spec()
    added = store.add_deployment(spec)
    assert added.spec == spec and added.name == "chat" and added.id > 0
    assert added.created_at == added.updated_at
    assert added.created_at.utcoffset() == timedelta(0)
    loaded = store.get_deployment("chat")
    assert loaded == added
    assert loaded is not None and loaded.spec.urls == spec.urls and loaded.spec.command == spec.command
    assert isinstance(loaded.spec.urls, tuple) and loaded.spec.category is Category.RERANKER


def test_default_spec_round_trips(store: Store) -> None:
    store.add_deployment(DeploymentSpec(name="bare"))
    loaded = store.get_deployment("bare")
    assert loaded is not None and loaded.spec == DeploymentSpec(name="bare")


def test_duplicate_name_conflicts(store: Store) -> None:
    store.add_deployment(make_spec("chat"))
    with pytest.raises(errors.Conflict):
        store.add_deployment(make_spec("chat", replicas=2))
    loaded = store.get_deployment("chat")
    assert loaded is not None and loaded.spec.replicas == 1


def test_update_replaces_spec_and_bumps_updated_at(store: Store) -> None:
    added = store.add_deployment(make_spec("chat"))
    updated = store.update_deployment(full_spec("chat"))
    assert updated.id == added.id and updated.created_at == added.created_at
    assert updated.updated_at > added.updated_at
    assert updated.spec == full_spec("chat")
    assert store.get_deployment("chat") == updated


def test_update_unknown_is_not_found(store: Store) -> None:
    with pytest.raises(errors.NotFound):
        store.update_deployment(make_spec("missing"))
    assert store.list_deployments() == []


def test_get_unknown_is_none(store: Store) -> None:
    assert store.get_deployment("missing") is None


def test_list_is_ordered_by_name(store: Store) -> None:
    for name in ["rerank", "chat", "embed"]:
        store.add_deployment(make_spec(name))
    assert [d.name for d in store.list_deployments()] == ["chat", "embed", "rerank"]


def test_remove(store: Store) -> None:
    store.add_deployment(make_spec("chat"))
    assert store.remove_deployment("chat") is True
    assert store.get_deployment("chat") is None
    assert store.remove_deployment("chat") is False


def test_remove_cascades_to_instances_only_of_that_deployment(store: Store) -> None:
    store.add_deployment(make_spec("chat"))
    store.add_deployment(make_spec("embed"))
    for ordinal in range(2):
        store.set_instance(make_instance("chat", ordinal))
        store.set_instance(make_instance("embed", ordinal))
    store.remove_deployment("chat")
    assert store.list_instances("chat") == []
    assert [(i.deployment, i.ordinal) for i in store.list_instances()] == [("embed", 0), ("embed", 1)]


def test_ids_are_not_reused_after_removal(store: Store) -> None:
    first = store.add_deployment(make_spec("a"))
    store.remove_deployment("a")
    second = store.add_deployment(make_spec("a"))
    assert second.id > first.id
