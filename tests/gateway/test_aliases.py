"""Deployment aliases: more names for one deployment, for tools that hard-code OpenAI's model names."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway, last_request

CHAT = [{"role": "user", "content": "hi"}]


@pytest.fixture
def aliased(gateway: LiveGateway, fake: FakeUpstream) -> Iterator[str]:
    """A deployment `aliased` on the fake (whose model is fake-model), also known as gpt-4o-mini and whisper-1."""
    gateway.deploy("aliased", [fake.url], upstream_model="fake-model", aliases=["gpt-4o-mini", "whisper-1"])
    yield "aliased"
    gateway.api("DELETE", "/api/deployments/aliased")


def _client(gateway: LiveGateway, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=key or gateway.admin_key, max_retries=0)


def test_an_alias_reaches_the_deployment(gateway: LiveGateway, fake: FakeUpstream, aliased: str) -> None:
    client = _client(gateway)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
    assert reply.model == "aliased"  # answers name the deployment, as OpenAI's name the model behind an alias
    assert b'"model":"fake-model"' in last_request(fake, "/v1/chat/completions").body.replace(b" ", b"")
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, stream=True))
    assert chunks and {c.model for c in chunks} == {"aliased"}
    heard = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"RIFF0000"))
    assert heard.text and b"fake-model" in last_request(fake, "/v1/audio/transcriptions").body
    assert {"aliased", "gpt-4o-mini", "whisper-1"} <= {m.id for m in client.models.list()}
    assert client.models.retrieve("whisper-1").id == "whisper-1"


def test_allow_lists_may_name_the_deployment_or_an_alias(gateway: LiveGateway, aliased: str) -> None:
    by_name = _client(gateway, gateway.create_key("by-name", models=["aliased"]))
    assert by_name.chat.completions.create(model="whisper-1", messages=CHAT).model == "aliased"
    assert {m.id for m in by_name.models.list()} == {"aliased", "gpt-4o-mini", "whisper-1"}
    by_alias = _client(gateway, gateway.create_key("by-alias", models=["gpt-4o-mini"]))
    assert by_alias.chat.completions.create(model="gpt-4o-mini", messages=CHAT).model == "aliased"
    with pytest.raises(openai.NotFoundError):
        by_alias.chat.completions.create(model="whisper-1", messages=CHAT)
    assert [m.id for m in by_alias.models.list()] == ["gpt-4o-mini"]


def test_names_and_aliases_never_collide(gateway: LiveGateway, fake: FakeUpstream, aliased: str) -> None:
    def deploy(name: str, aliases: list[str]) -> httpx.Response:
        return gateway.api("POST", "/api/deployments", {"name": name, "urls": [fake.url], "aliases": aliases})

    for name, aliases in (("other", ["whisper-1"]), ("other", ["aliased"]), ("gpt-4o-mini", [])):
        clash = deploy(name, aliases)
        assert clash.status_code == 409 and "aliased" in clash.json()["error"]["message"], clash.text
    for aliases in (["other"], ["bad alias"], ["x", "x"]):
        bad = deploy("other", aliases)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "aliases", bad.text
    assert gateway.api("GET", "/api/deployments/other").status_code == 404


def test_undeploying_frees_the_aliases(gateway: LiveGateway, fake: FakeUpstream) -> None:
    gateway.cli("deploy", "first", "--url", fake.url, "--upstream-model", "fake-model", "--alias", "tts-1")
    assert "(also: tts-1)" in gateway.cli("deployments").stdout
    gateway.wait_ready("first")
    client = _client(gateway)
    assert client.chat.completions.create(model="tts-1", messages=CHAT).model == "first"
    gateway.cli("undeploy", "first", remote=True)  # through the API: routes change before it answers
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="tts-1", messages=CHAT)
    gateway.deploy("second", [fake.url], upstream_model="fake-model", aliases=["tts-1"])
    try:
        assert client.chat.completions.create(model="tts-1", messages=CHAT).model == "second"
    finally:
        gateway.api("DELETE", "/api/deployments/second")
