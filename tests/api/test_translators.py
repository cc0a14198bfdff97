"""The translator table (issue 13): one translator per (client API, backend API), and an unsupported pair
is a 400 in the client's protocol shape naming the backends that can serve it."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from modelport.api.messages_native import relay_native_messages
from modelport.api.messages_translated import translate_messages
from modelport.api.rerank_translated import (
    cohere_rerank_via_jina,
    cohere_rerank_via_tei,
    jina_rerank_via_tei,
    relay_jina_rerank,
)
from modelport.api.responses_translated import answer_responses_via_chat
from modelport.api.translators import (
    COHERE_RERANK,
    COUNT_TOKENS,
    JINA_RERANK,
    MESSAGES,
    RESPONSES,
    TRANSLATORS,
    supported_backends,
    translator_for,
)
from modelport.errors import BadRequest
from modelport.records import DeploymentSpec
from modelport.routing.capabilities import BackendApi
from modelport.routing.router import Route
from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

URL = ("http://h/v1",)
OPENAI = Route(DeploymentSpec(name="chat", urls=URL), ())
NATIVE = Route(DeploymentSpec(name="vllm", urls=URL, speaks_anthropic=True), ())
TEI = Route(DeploymentSpec(name="tei", urls=URL, engine_args={"api": "tei"}), ())


def test_each_pair_has_its_translator() -> None:
    assert translator_for(MESSAGES, OPENAI) is translate_messages
    assert translator_for(MESSAGES, NATIVE) is relay_native_messages
    assert translator_for(RESPONSES, OPENAI) is translator_for(RESPONSES, NATIVE) is answer_responses_via_chat
    assert translator_for(JINA_RERANK, OPENAI) is translator_for(JINA_RERANK, NATIVE) is relay_jina_rerank
    assert translator_for(JINA_RERANK, TEI) is jina_rerank_via_tei
    assert translator_for(COHERE_RERANK, OPENAI) is cohere_rerank_via_jina
    assert translator_for(COHERE_RERANK, TEI) is cohere_rerank_via_tei


@pytest.mark.parametrize("client_api", [MESSAGES, COUNT_TOKENS, RESPONSES])
def test_an_unsupported_pair_names_the_backends_that_can(client_api: object) -> None:
    with pytest.raises(BadRequest) as raised:
        translator_for(client_api, TEI)  # type: ignore[arg-type]
    error = raised.value
    assert error.param == "model" and error.code == "unsupported_backend_api"
    assert "`tei` is served by a tei backend" in error.message and "speak openai, anthropic can" in error.message


def test_every_client_api_has_a_backend_and_supported_lists_them_in_order() -> None:
    assert supported_backends(JINA_RERANK) == (BackendApi.OPENAI, BackendApi.ANTHROPIC, BackendApi.TEI)
    assert supported_backends(MESSAGES) == (BackendApi.OPENAI, BackendApi.ANTHROPIC)
    assert {client for client, _ in TRANSLATORS} == {MESSAGES, COUNT_TOKENS, RESPONSES, JINA_RERANK, COHERE_RERANK}


# -- through a live gateway: the fake upstream deployed as a TEI backend (it serves no Messages or Responses)


@pytest.fixture(scope="module")
def tei_model(gateway: LiveGateway, fake: FakeUpstream) -> Iterator[str]:
    gateway.deploy("fake-tei", [fake.url], upstream_model="fake-model", engine_args={"api": "tei"})
    yield "fake-tei"
    gateway.api("DELETE", "/api/deployments/fake-tei")


def test_messages_on_a_tei_backend_is_an_anthropic_shaped_400(gateway: LiveGateway, fake: FakeUpstream,
                                                               tei_model: str) -> None:
    before = len(fake.requests)
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.admin_key, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as raised:
        claude.messages.create(model=tei_model, max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    body = raised.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "Anthropic Messages" in body["error"]["message"] and "openai, anthropic" in body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError) as counted:
        claude.messages.count_tokens(model=tei_model, messages=[{"role": "user", "content": "hi"}])
    assert "count_tokens" in counted.value.body["error"]["message"]  # type: ignore[index]
    assert not _reached(fake, before)


def _reached(fake: FakeUpstream, before: int) -> list[str]:
    """The paths the fake was asked for since `before`, other than its health probes."""
    return [r.path for r in fake.requests[before:] if r.path != "/v1/models"]


def test_responses_on_a_tei_backend_is_an_openai_shaped_400(gateway: LiveGateway, fake: FakeUpstream,
                                                             tei_model: str) -> None:
    before = len(fake.requests)
    oai = openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.admin_key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        oai.responses.create(model=tei_model, input="hi", store=False)
    assert raised.value.code == "unsupported_backend_api" and raised.value.param == "model"
    assert "OpenAI Responses" in raised.value.message and "openai, anthropic" in raised.value.message
    assert not _reached(fake, before)
