"""What a route's backend speaks is decided once, from the deployment (issue 13)."""

from __future__ import annotations

from dataclasses import replace

from modelport.records import DeploymentSpec
from modelport.routing.capabilities import BackendApi, Capabilities
from modelport.routing.router import Route

URL = ("http://h/v1",)


def caps(**spec: object) -> Capabilities:
    return Route(DeploymentSpec(name="a", **spec), ()).capabilities  # type: ignore[arg-type]


def test_presets_that_serve_messages_themselves_are_relayed_not_translated() -> None:
    assert caps(engine="vllm", model="m").messages and caps(engine="llama-server", model="m").messages
    assert not caps(engine="sglang", model="m").messages
    assert not caps(engine="vllm", model="m", command=("my-vllm",)).messages  # a custom command may be anything
    assert caps(urls=URL, speaks_anthropic=True).api is BackendApi.ANTHROPIC
    assert caps(urls=URL).api is BackendApi.OPENAI


def test_tei_is_the_preset_or_api_tei_on_a_remote_deployment() -> None:
    assert caps(engine="tei", model="x").api is BackendApi.TEI
    assert caps(urls=URL, engine_args={"api": "tei"}).api is BackendApi.TEI
    assert caps(urls=URL).api is BackendApi.OPENAI  # rerank in Jina's shape
    assert caps(engine="tei", command=("my-tei",)).api is BackendApi.OPENAI


def test_where_tokens_are_counted() -> None:
    assert caps(engine="llama.cpp", model="m").tokenize_from_root == (False,)  # our worker: /v1/tokenize
    assert caps(engine="vllm", model="m").tokenize_from_root == (True,)  # vLLM: /tokenize
    assert caps(engine="tei", model="m").tokenize_from_root == ()
    assert caps(urls=URL).tokenize_from_root == (False, True)  # unknown: try both


def test_top_k_unless_told_otherwise() -> None:
    assert caps(urls=URL).top_k
    assert not caps(urls=URL, engine_args={"top_k": "false"}).top_k


def test_an_alias_route_has_the_same_capabilities() -> None:
    route = Route(DeploymentSpec(name="a", engine="vllm", model="m"), ())
    assert replace(route, alias="b").capabilities == route.capabilities
