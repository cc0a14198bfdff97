"""A bounded, deterministic fuzz run of every `/v1` route and the admin API `/api` against a live gateway.

Each test draws a fixed number of cases (`derandomize=True`: the same cases on every run) and stops sending
once its time budget is spent, so the file stays near a minute on two cores. For every answer: no 5xx the
gateway made itself (a 502/503/504 about an upstream is fine; a 500 never is), every error in its
protocol's shape (Anthropic's on `/v1/messages*`, OpenAI's elsewhere), nothing unhandled in the gateway's
log, and a normal request still served afterwards. The backends are the fake upstream (cheap, most cases)
and, for fewer cases, the built-in engines.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from modelport.testing import FakeUpstream
from tests.fuzz.strategies import MULTIPART_ROUTES, json_request, mostly, multipart_request, small_text, small_work
from tests.harness import LiveGateway

FAKE_MODELS = ("fake-model", "renamed", "native-anthropic", "tei-rerank")
LLM, RERANK = ("smollm2-135m-instruct",), ("e5-small-bi-encoder-rerank",)
#: Each built-in route with the default model that serves it.
BUILTIN_MODELS = {"/v1/completions": LLM, "/v1/chat/completions": LLM, "/v1/messages": LLM,
                  "/v1/messages/count_tokens": LLM, "/v1/embeddings": ("all-minilm-l6-v2",), "/v1/rerank": RERANK,
                  "/v2/rerank": RERANK, "/v1/audio/speech": ("piper-en-us-joe",),
                  "/v1/audio/transcriptions": ("whisper-tiny-en",)}


def fuzz_settings(examples: int) -> settings:
    """`examples` cases, the same ones each run, no example database, no per-case deadline."""
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), phases=(Phase.explicit, Phase.generate, Phase.shrink))


class Budget:
    """A wall-clock budget: `spent` once `seconds` have passed since the first check."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started: float | None = None
        self.sent = 0

    @property
    def spent(self) -> bool:
        now = time.monotonic()
        self.started = now if self.started is None else self.started
        return now - self.started > self.seconds


class Target:
    """A live gateway under fuzz: one keep-alive client, the log checked after each test."""

    def __init__(self, gateway: LiveGateway, chat_model: str) -> None:
        self.gateway = gateway
        self.chat_model = chat_model
        self.client = httpx.Client(base_url=gateway.url, timeout=120,
                                   headers={"authorization": f"Bearer {gateway.admin_key}"})
        self.log_offset = gateway.log_path.stat().st_size
        self.statuses: Counter[tuple[str, int]] = Counter()

    def send(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
             **kwargs: Any) -> httpx.Response:
        headers = {"content-type": content_type} if content_type else {}
        response = self.client.request(method, path, content=body, headers=headers, **kwargs)
        self.statuses[route_family(path), response.status_code] += 1
        check_answer(path, response)
        return response

    def finish(self) -> None:
        """The gateway logged nothing unhandled and still serves a normal request."""
        print("answers by (route, status):", dict(sorted(self.statuses.items())))
        log = self.gateway.log_path.read_bytes()[self.log_offset:]
        assert b"unhandled error" not in log and b"Traceback" not in log, log.decode(errors="replace")[-4000:]
        request = {"model": self.chat_model, "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]}
        deadline = time.monotonic() + 20
        ok = self.client.post("/v1/chat/completions", json=request)
        while ok.status_code == 503 and time.monotonic() < deadline:  # a health probe missed under load
            time.sleep(0.5)
            ok = self.client.post("/v1/chat/completions", json=request)
        assert ok.status_code == 200, ok.text
        self.client.close()


#: aiohttp's own body for a handler that raised: the fake upstream crashed, and the gateway relayed its 500.
UPSTREAM_CRASH = b"500 Internal Server Error\n\nServer got itself in trouble"


FAMILIES = ("/v1/models/", "/v1/images/files/", "/api/deployments/", "/api/keys/", "/api/logs/")


def route_family(path: str) -> str:
    """`/v1/models/x` -> `/v1/models/*`: the answers are tallied per route, not per drawn path."""
    path = path.split("?")[0]
    return next((prefix + "*" for prefix in FAMILIES if path.startswith(prefix) and path != prefix), path)


def check_answer(path: str, response: httpx.Response) -> None:
    status = response.status_code
    if status == 500 and response.content == UPSTREAM_CRASH:
        return  # the upstream's 500, relayed (a fake-upstream defect, tallied in the answers)
    assert status != 500 and status < 505 and status >= 200, (path, status, response.text[:500])
    if status < 400:
        return
    body = response.json()
    if path.startswith("/v1/messages"):
        assert body["type"] == "error" and isinstance(body["error"]["message"], str), body
        assert isinstance(body["error"]["type"], str), body
    else:
        error = body["error"]
        assert isinstance(error["message"], str) and isinstance(error["type"], str), body
        assert {"param", "code"} <= set(error), body


@pytest.fixture(scope="module")
def fuzz_fake() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(models=("fake-model",))
    upstream.start_in_thread()
    yield upstream
    upstream.stop_thread()


@pytest.fixture(scope="module")
def fuzz_gateway(tmp_path_factory: pytest.TempPathFactory, fuzz_fake: FakeUpstream) -> Iterator[LiveGateway]:
    """A gateway of its own (its log is read), with every kind of deployment the relay distinguishes."""
    with LiveGateway(Path(tmp_path_factory.mktemp("fuzz"))) as live:
        live.deploy("fake-model", [fuzz_fake.url])
        live.deploy("renamed", [fuzz_fake.url], upstream_model="fake-model")
        live.deploy("native-anthropic", [fuzz_fake.url], upstream_model="fake-model", speaks_anthropic=True)
        live.deploy("tei-rerank", [fuzz_fake.url], upstream_model="fake-model", engine_args={"api": "tei"})
        yield live


@pytest.fixture
def target(fuzz_gateway: LiveGateway) -> Iterator[Target]:
    fuzzed = Target(fuzz_gateway, "fake-model")
    yield fuzzed
    fuzzed.finish()


def run(budget: Budget, send: Callable[[], object]) -> None:
    if not budget.spent:
        budget.sent += 1
        send()


@pytest.fixture(autouse=True)
def report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"{request.node.name}: {time.monotonic() - started:.1f} s")


def test_fuzz_json_routes(target: Target) -> None:
    budget = Budget(25)

    @fuzz_settings(1500)
    @given(json_request(FAKE_MODELS))
    def case(request: tuple[str, bytes, str]) -> None:
        path, body, content_type = request
        run(budget, lambda: target.send("POST", path, body, content_type))

    case()
    print(f"sent {budget.sent} cases")
    assert budget.sent >= 300


def test_fuzz_multipart_routes(target: Target) -> None:
    budget = Budget(8)

    @fuzz_settings(400)
    @given(multipart_request(FAKE_MODELS))
    def case(request: tuple[str, bytes, str]) -> None:
        path, body, content_type = request
        run(budget, lambda: target.send("POST", path, body, content_type))

    case()
    print(f"sent {budget.sent} cases")
    assert budget.sent >= 100


GET_PATHS = st.one_of(
    st.just("/v1/models"),
    st.sampled_from((*FAKE_MODELS, "nope", "", "%00", "a/b", "..")).map(lambda name: "/v1/models/" + name),
    small_text.map(lambda name: "/v1/models/" + quote(name.encode("utf-8", "surrogatepass"), safe="")),
    st.text("0123456789abcdef.pngjx%/", max_size=70).map(lambda name: "/v1/images/files/" + name),
)


def test_fuzz_get_and_wrong_method_routes(target: Target) -> None:
    budget = Budget(5)

    @fuzz_settings(200)
    @given(GET_PATHS, st.sampled_from(("GET", "GET", "GET", "DELETE", "PUT", "OPTIONS")))
    def case(path: str, method: str) -> None:
        run(budget, lambda: target.send(method, path))

    case()
    print(f"sent {budget.sent} cases")


@pytest.fixture
def admin_target(tmp_path: Path, fuzz_fake: FakeUpstream) -> Iterator[Target]:
    """A gateway of its own: the deployments the fuzzer creates are probed, and go with it."""
    with LiveGateway(tmp_path / "admin") as live:
        live.deploy("fake-model", [fuzz_fake.url])
        fuzzed = Target(live, "fake-model")
        yield fuzzed
        # What the fuzzer configured is its right (limit defaults, fake-model replaced or removed): put the
        # gateway back as it started, then check it still serves.
        assert live.api("PUT", "/api/limits/defaults", {}).status_code == 200
        spec = {"name": "fake-model", "urls": [fuzz_fake.url]}
        assert live.api("PUT", "/api/deployments/fake-model", spec).status_code in (200, 201)
        time.sleep(1.5)  # gateways read the defaults every second
        live.wait_ready("fake-model")
        fuzzed.finish()


CLOSED = "http://127.0.0.1:9/v1"
LAUNCHES = ("engine", "model", "command")  # fields that would make the gateway start local processes


def tame(case: Any) -> None:
    """Deployments the fuzzer creates may not start processes here or probe the world: drop what would launch
    an engine or a command, and point URLs that name a host at a closed local port."""
    if isinstance(case.body, dict):
        for name in LAUNCHES:
            case.body.pop(name, None)
        urls = case.body.setdefault("urls", [CLOSED])
        if isinstance(urls, list):
            case.body["urls"] = [CLOSED if isinstance(url, str) and "://" in url else url for url in urls]


def test_fuzz_admin_api(admin_target: Target) -> None:
    """Schemathesis cases (valid and invalid) for every operation of `/api/openapi.json`."""
    target = admin_target
    schema = schemathesis.openapi.from_dict(target.send("GET", "/api/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    budget = Budget(15)

    @fuzz_settings(500)
    @given(st.one_of(*(operation.as_strategy() for operation in operations)))
    def case(drawn: Any) -> None:
        tame(drawn)
        sent = drawn.as_transport_kwargs(base_url=target.gateway.url)
        body = sent.get("json")
        content = None if body is None else httpx.Request("POST", "/", json=body).content
        path = httpx.URL(sent["url"]).raw_path.decode("ascii")
        run(budget, lambda: target.send(sent["method"], path, content or sent.get("data"),
                                        sent.get("headers", {}).get("Content-Type"), params=sent.get("params")))

    case()
    print(f"sent {budget.sent} cases")
    assert budget.sent >= 100


@pytest.fixture
def builtin_target(builtin_gateway: LiveGateway) -> Iterator[Target]:
    fuzzed = Target(builtin_gateway, "smollm2-135m-instruct")
    yield fuzzed
    fuzzed.finish()


def test_fuzz_builtin_engine_routes(builtin_target: Target) -> None:
    budget = Budget(20)
    json_routes = tuple(path for path in BUILTIN_MODELS if path not in MULTIPART_ROUTES)

    @fuzz_settings(250)
    @given(mostly(json_request(BUILTIN_MODELS, json_routes).map(small_work),
                  multipart_request(BUILTIN_MODELS, ("/v1/audio/transcriptions",)), 5))
    def case(request: tuple[str, bytes, str]) -> None:
        path, body, content_type = request
        run(budget, lambda: builtin_target.send("POST", path, body, content_type))

    case()
    print(f"sent {budget.sent} cases")
    assert budget.sent >= 50
