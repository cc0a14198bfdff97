"""What a deployment's backend speaks, decided once, when its route is built.

Handlers ask the route (`route.capabilities`), never the engine presets or the deployment's raw fields, so
"does this backend serve /v1/messages itself, take `top_k`, rank like Jina or like TEI, count tokens where"
has one answer, here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from modelport.engines import ENGINE_NAMES
from modelport.records import DeploymentSpec

#: Engine presets whose servers answer Anthropic's `/v1/messages` themselves (besides OpenAI's `/v1`).
NATIVE_MESSAGES_ENGINES = frozenset({"vllm", "llama-server"})
#: Where `/tokenize` is, as the paths to try in order: (from the instance's root?, ...). Our own workers serve
#: it under /v1; vLLM and SGLang at the root; a URL or a custom command may be either.
_TOKENIZE = {"vllm": (True,), "sglang": (True,), "llama-server": (), "tei": ()}
_BUILT_IN_TOKENIZE = (False,)
_UNKNOWN_TOKENIZE = (False, True)


class BackendApi(enum.StrEnum):
    """The API family a backend speaks, as translators are keyed by it."""

    OPENAI = "openai"  # OpenAI's /v1: chat, completions, embeddings, audio, images
    ANTHROPIC = "anthropic"  # OpenAI's /v1 and Anthropic's /v1/messages, natively
    TEI = "tei"  # Hugging Face TEI: /embed and /rerank at the root (OpenAI embeddings besides)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the instances of one deployment serve."""

    api: BackendApi  # also where rerank goes: TEI's /rerank at the root, else Jina's shape at {base}/rerank
    top_k: bool  # chat requests may carry `top_k`
    tokenize_from_root: tuple[bool, ...]  # where `/tokenize` is, in the order to try; () for nowhere

    @property
    def messages(self) -> bool:
        """The instances answer `/v1/messages` themselves (relay, don't translate)."""
        return self.api is BackendApi.ANTHROPIC

    @classmethod
    def of(cls, spec: DeploymentSpec) -> Capabilities:
        """The capabilities of `spec`: its explicit settings (`speaks_anthropic`, `engine_args` `api=tei`,
        `top_k=false`) first, else what its engine is known to speak. A URL or a custom `command` may be
        anything, so it is taken as plain OpenAI unless told otherwise."""
        custom = spec.is_remote or bool(spec.command)
        engine = None if custom else spec.engine
        declared = spec.engine_args.get("api")
        if spec.speaks_anthropic or engine in NATIVE_MESSAGES_ENGINES:
            api = BackendApi.ANTHROPIC
        elif declared == "tei" or engine == "tei":
            api = BackendApi.TEI
        else:
            api = BackendApi.OPENAI
        tokenize: tuple[bool, ...]
        if engine is None:
            tokenize = _UNKNOWN_TOKENIZE
        else:
            tokenize = _BUILT_IN_TOKENIZE if engine in ENGINE_NAMES else _TOKENIZE.get(engine, _UNKNOWN_TOKENIZE)
        top_k = spec.engine_args.get("top_k") != "false"  # what OpenAI itself refuses, engines take
        return cls(api, top_k, tokenize)
