"""THE translator table: which translator answers a client API on a backend API (Envoy AI Gateway's
`GetTranslator`).

A route knows what its backend speaks (`route.capabilities.api`, decided once from the deployment); a
handler names the API its client speaks and gets the one translator for the pair, or a 400 in the client's
protocol shape (the dispatcher renders it per route) naming the backends that can serve that API:

| client API                   | openai                 | anthropic              | tei                |
|------------------------------|------------------------|------------------------|--------------------|
| Anthropic Messages           | Messages → chat        | relayed as it came     | —                  |
| Anthropic count_tokens       | chat → /tokenize       | chat → /tokenize       | —                  |
| OpenAI Responses             | Responses → chat       | Responses → chat       | —                  |
| Jina rerank                  | relayed as it came     | relayed as it came     | Jina → TEI         |
| Cohere rerank                | Cohere → Jina          | Cohere → Jina          | Cohere → Jina → TEI|

OpenAI's own routes (chat, completions, embeddings, audio, images) are relayed to every backend as they
came, so they need no entry. Every translator takes what its handler read and resolved: the gateway, the
request, the route and the client's body as the handler parsed it (`P`, one type per client API).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from modelport.api.messages_native import relay_native_messages
from modelport.api.messages_tokens import count_tokens_via_chat
from modelport.api.messages_translated import translate_messages
from modelport.api.request import Request
from modelport.api.rerank_translated import (
    cohere_rerank_via_jina,
    cohere_rerank_via_tei,
    jina_rerank_via_tei,
    relay_jina_rerank,
)
from modelport.api.responses_translated import ResponsesTurn, answer_responses_via_chat
from modelport.errors import BadRequest
from modelport.routing.capabilities import BackendApi
from modelport.routing.router import Route
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

P = TypeVar("P")
Translator = Callable[["Gateway", Request, Route, P, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ClientApi(Generic[P]):
    """An API a client speaks to us that not every backend serves as is; `P` is what its handler parsed."""

    name: str  # as an error message names it


MESSAGES: ClientApi[bytes] = ClientApi("Anthropic Messages (/v1/messages)")
COUNT_TOKENS: ClientApi[bytes] = ClientApi("Anthropic token counting (/v1/messages/count_tokens)")
RESPONSES: ClientApi[ResponsesTurn] = ClientApi("OpenAI Responses (/v1/responses)")
JINA_RERANK: ClientApi[bytes] = ClientApi("Jina rerank (/v1/rerank)")
COHERE_RERANK: ClientApi[bytes] = ClientApi("Cohere rerank (/v2/rerank)")

OPENAI, ANTHROPIC, TEI = BackendApi.OPENAI, BackendApi.ANTHROPIC, BackendApi.TEI
TRANSLATORS: Mapping[tuple[ClientApi[Any], BackendApi], Translator[Any]] = {
    (MESSAGES, OPENAI): translate_messages,
    (MESSAGES, ANTHROPIC): relay_native_messages,
    (COUNT_TOKENS, OPENAI): count_tokens_via_chat,
    (COUNT_TOKENS, ANTHROPIC): count_tokens_via_chat,
    (RESPONSES, OPENAI): answer_responses_via_chat,
    (RESPONSES, ANTHROPIC): answer_responses_via_chat,  # an Anthropic-speaking backend serves chat too
    (JINA_RERANK, OPENAI): relay_jina_rerank,
    (JINA_RERANK, ANTHROPIC): relay_jina_rerank,
    (JINA_RERANK, TEI): jina_rerank_via_tei,
    (COHERE_RERANK, OPENAI): cohere_rerank_via_jina,
    (COHERE_RERANK, ANTHROPIC): cohere_rerank_via_jina,
    (COHERE_RERANK, TEI): cohere_rerank_via_tei,
}


def supported_backends(client_api: ClientApi[Any]) -> tuple[BackendApi, ...]:
    """The backend APIs that can answer `client_api`, in `BackendApi`'s order."""
    return tuple(backend for backend in BackendApi if (client_api, backend) in TRANSLATORS)


def translator_for(client_api: ClientApi[P], route: Route) -> Translator[P]:
    """The translator that answers `client_api` on `route`'s backend; a 400 naming the backends that can."""
    backend = route.capabilities.api
    translator = TRANSLATORS.get((client_api, backend))
    if translator is None:
        supported = ", ".join(api.value for api in supported_backends(client_api))
        raise BadRequest(
            f"The model `{route.requested_name}` is served by a {backend.value} backend, which can't answer "
            f"{client_api.name} requests; deployments whose backends speak {supported} can.",
            param="model", code="unsupported_backend_api",
        )
    return translator
