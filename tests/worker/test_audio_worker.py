"""Live piper and faster-whisper workers driven with the openai SDK: speech in every format, speech fed
back into transcription, subtitle and verbose formats, streaming, and OpenAI-shaped 400s."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import openai
import pytest

from modelport.config import MAX_REQUEST_BYTES
from modelport.engines.media import SPEECH_FORMATS
from tests.worker.live import LiveWorker, require_ready
from tests.worker.media_helpers import SENTENCES, decoded_seconds, word_error_rate

SPEECH_MODEL, STT_MODEL = "piper-en-us-joe", "whisper-tiny-en"


@pytest.fixture(scope="module")
def tts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(SPEECH_MODEL)
    with LiveWorker("piper", SPEECH_MODEL, Path(tmp_path_factory.mktemp("tts"))) as live:
        yield live


@pytest.fixture(scope="module")
def stt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(STT_MODEL)
    with LiveWorker("faster-whisper", STT_MODEL, Path(tmp_path_factory.mktemp("stt"))) as live:
        yield live


def _client(worker: LiveWorker) -> openai.OpenAI:
    return openai.OpenAI(base_url=worker.url + "/v1", api_key=worker.secret, max_retries=0)


@pytest.fixture(scope="module")
def wav(tts: LiveWorker) -> bytes:
    """The three sentences as one WAV file."""
    speech = _client(tts).audio.speech.create(
        model=SPEECH_MODEL, voice="alloy", input=" ".join(SENTENCES), response_format="wav"
    )
    return speech.content


@pytest.mark.parametrize("fmt", SPEECH_FORMATS)
def test_speech_every_format_decodes_to_plausible_duration(tts: LiveWorker, fmt: str) -> None:
    speech = _client(tts).audio.speech.create(
        model=SPEECH_MODEL,
        voice="joe",
        input=SENTENCES[0],
        response_format=fmt,
    )
    data = speech.content
    if fmt == "pcm":
        seconds = len(data) / 2 / 22050  # raw 16-bit little-endian mono at the voice's rate
        assert len(data) % 2 == 0
    else:
        seconds, _rate = decoded_seconds(data)
    assert 1.5 < seconds < 6.0, (fmt, seconds)  # nine words at a speaking pace
    assert speech.response.headers["content-type"].startswith("audio/")


@pytest.mark.parametrize("fmt", ["mp3", "opus"])  # the lossy ones; wav is fed back below
def test_speech_fed_back_into_transcription(tts: LiveWorker, stt: LiveWorker, fmt: str) -> None:
    speaker, listener = _client(tts), _client(stt)
    heard = []
    for sentence in SENTENCES:
        audio = speaker.audio.speech.create(
            model=SPEECH_MODEL, voice="alloy", input=sentence, response_format=fmt
        ).content
        heard.append(listener.audio.transcriptions.create(model=STT_MODEL, file=(f"speech.{fmt}", audio)).text)
    # Piper's voice is sampled (noise_scale), so one sentence may lose a word; over the set WER <= 10%
    assert word_error_rate(" ".join(SENTENCES), " ".join(heard)) <= 0.1, heard


def test_speed_changes_duration(tts: LiveWorker) -> None:
    client = _client(tts)
    normal = client.audio.speech.create(model=SPEECH_MODEL, voice="joe", input=SENTENCES[1], response_format="pcm")
    fast = client.audio.speech.create(
        model=SPEECH_MODEL, voice="joe", input=SENTENCES[1], response_format="pcm", speed=2.0
    )
    assert len(fast.content) < 0.8 * len(normal.content)


async def test_speech_streams_sentence_by_sentence(tts: LiveWorker) -> None:
    text = " ".join(f"This is sentence number {i}, read aloud by the test voice." for i in range(6))
    body = {"model": SPEECH_MODEL, "input": text, "voice": "joe", "response_format": "mp3"}
    async with aiohttp.ClientSession(headers=tts.headers) as http:
        started = time.monotonic()
        async with http.post(tts.url + "/v1/audio/speech", json=body) as response:
            assert response.headers.get("Transfer-Encoding") == "chunked"
            arrivals = [time.monotonic() - started async for _ in response.content.iter_any()]
    assert len(arrivals) >= 4
    assert arrivals[0] < arrivals[-1] / 2, arrivals  # the first sentence came long before the last


async def test_speech_hang_up_frees_the_engine(tts: LiveWorker) -> None:
    long_text = " ".join(["A long reading that nobody will listen to the end of."] * 40)
    async with aiohttp.ClientSession(headers=tts.headers) as http:
        response = await http.post(tts.url + "/v1/audio/speech", json={"input": long_text, "response_format": "pcm"})
        await response.content.readany()
        response.close()
    await asyncio.sleep(0.3)
    started = time.monotonic()
    async with (
        aiohttp.ClientSession(headers=tts.headers) as http,
        http.post(tts.url + "/v1/audio/speech", json={"input": "Hi.", "response_format": "wav"}) as answer,
    ):
        assert answer.status == 200 and len(await answer.read()) > 1000
    assert time.monotonic() - started < 5, "the abandoned speech kept the engine busy"


def test_transcription_formats_are_well_formed(stt: LiveWorker, wav: bytes) -> None:
    client = _client(stt)
    text = client.audio.transcriptions.create(model=STT_MODEL, file=("a.wav", wav), response_format="text")
    assert isinstance(text, str) and word_error_rate(" ".join(SENTENCES), text) <= 0.1
    srt = client.audio.transcriptions.create(model=STT_MODEL, file=("a.wav", wav), response_format="srt")
    cues = re.findall(r"(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(.+)\n", str(srt))
    assert cues and [int(c[0]) for c in cues] == list(range(1, len(cues) + 1))
    assert all(start <= end for _, start, end, _ in cues)
    vtt = str(client.audio.transcriptions.create(model=STT_MODEL, file=("a.wav", wav), response_format="vtt"))
    assert vtt.startswith("WEBVTT\n\n")
    assert len(re.findall(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n.+\n", vtt)) == len(cues)


def test_verbose_json_with_words(stt: LiveWorker, wav: bytes) -> None:
    result = _client(stt).audio.transcriptions.create(
        model=STT_MODEL,
        file=("a.wav", wav),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
        temperature=0,
        prompt="Boxes, lunch, the station.",
    )
    assert result.language == "english" and result.duration > 5
    assert result.segments and result.segments[0].id == 0
    for segment in result.segments:
        assert segment.start <= segment.end and segment.tokens and segment.avg_logprob <= 0
    assert result.words and all(w.word == w.word.strip() and w.start <= w.end for w in result.words)
    # Whisper tiny sometimes hears "Thank you for watching." in a clip's closing silence (a known habit of
    # the model, varying with piper's sampled voice): judge the words against the spoken length only.
    spoken = " ".join(SENTENCES)
    heard = [w.word for w in result.words][: len(spoken.split())]
    assert word_error_rate(spoken, " ".join(heard)) <= 0.1
    assert all(a.start <= b.start for a, b in zip(result.words, result.words[1:], strict=False))
    plain = _client(stt).audio.transcriptions.create(
        model=STT_MODEL, file=("a.wav", wav), response_format="verbose_json"
    )
    assert plain.words is None


def test_transcription_stream_sends_a_delta_per_segment(stt: LiveWorker, wav: bytes) -> None:
    client = _client(stt)
    events = list(client.audio.transcriptions.create(model=STT_MODEL, file=("a.wav", wav), stream=True))
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    done = events[-1]
    assert done.type == "transcript.text.done" and done.usage is not None and done.usage.seconds >= 5
    assert "".join(deltas) == done.text and word_error_rate(" ".join(SENTENCES), done.text) <= 0.1
    whole = client.audio.transcriptions.create(model=STT_MODEL, file=("a.wav", wav), response_format="verbose_json")
    assert len(deltas) == len(whole.segments) and done.text == whole.text


async def test_transcription_stream_sends_early_windows_before_decoding_the_rest(
    stt: LiveWorker, tts: LiveWorker
) -> None:
    # Whisper decodes 30 s windows: ~48 s of speech is two, and the first window's segments must not wait
    # for the second window to be decoded.
    long_wav = _client(tts).audio.speech.create(
        model=SPEECH_MODEL, voice="joe", input=" ".join(SENTENCES * 6), response_format="wav"
    ).content
    form = aiohttp.FormData({"model": STT_MODEL, "stream": "true"})
    form.add_field("file", long_wav, filename="long.wav", content_type="audio/wav")
    arrivals: list[tuple[float, dict[str, object]]] = []
    async with aiohttp.ClientSession(headers=stt.headers) as http:
        async with http.post(stt.url + "/v1/audio/transcriptions", data=form) as response:
            assert response.status == 200 and response.content_type == "text/event-stream"
            async for line in response.content:
                if line.startswith(b"data: {"):
                    arrivals.append((time.monotonic(), json.loads(line[6:])))
    kinds = [event["type"] for _, event in arrivals]
    assert kinds[-1] == "transcript.text.done" and kinds.count("transcript.text.delta") >= 2
    assert arrivals[-1][0] - arrivals[0][0] > 0.1, "every segment arrived only after the whole file was decoded"


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks translations deprecated
def test_translation_of_english_is_the_transcript(stt: LiveWorker, wav: bytes) -> None:
    result = _client(stt).audio.translations.create(model=STT_MODEL, file=("a.wav", wav))
    assert word_error_rate(" ".join(SENTENCES), result.text) <= 0.1


def _bad_request(call: Callable[[], object]) -> dict[str, object]:
    with pytest.raises(openai.BadRequestError) as err:
        call()
    body = err.value.body
    assert isinstance(body, dict) and body["type"] == "invalid_request_error" and body["message"]
    return body


async def test_speech_as_server_sent_events(tts: LiveWorker) -> None:
    text = " ".join(SENTENCES)
    body = {"model": SPEECH_MODEL, "input": text, "voice": "joe", "response_format": "pcm", "stream_format": "sse"}
    events = []
    async with aiohttp.ClientSession(headers=tts.headers) as http:
        async with http.post(tts.url + "/v1/audio/speech", json=body) as response:
            assert response.status == 200 and response.content_type == "text/event-stream"
            async for line in response.content:
                if line.startswith(b"data: "):
                    events.append(json.loads(line[6:]))
    deltas = [e for e in events if e["type"] == "speech.audio.delta"]
    assert len(deltas) == len(SENTENCES) and events[-1]["type"] == "speech.audio.done"
    pcm = b"".join(base64.b64decode(e["audio"]) for e in deltas)
    assert 5.0 < len(pcm) / 2 / 22050 < 15.0
    usage = events[-1]["usage"]
    assert usage["input_tokens"] > len(text) / 2 and usage["total_tokens"] == usage["input_tokens"]


def test_speech_bad_inputs_are_400(tts: LiveWorker) -> None:
    speech = _client(tts).audio.speech.create
    cases = {
        "input": dict(voice="alloy", input=""),
        "voice": dict(voice="no-such-voice", input="hello"),
        "response_format": dict(voice="alloy", input="hello", response_format="ogg"),
        "speed": dict(voice="alloy", input="hello", speed=9.0),
        "stream_format": dict(voice="alloy", input="hello", stream_format="websocket"),
    }
    for param, kwargs in cases.items():
        assert _bad_request(lambda: speech(model=SPEECH_MODEL, **kwargs))["param"] == param  # noqa: B023
    body = _bad_request(lambda: speech(model=SPEECH_MODEL, voice="alloy", input="x" * 4097))
    assert body["param"] == "input" and "4096" in str(body["message"])


async def test_speech_input_of_exactly_4096_characters_is_accepted(tts: LiveWorker) -> None:
    body = {"input": "Hi. " * 1024, "voice": "alloy", "response_format": "pcm"}
    async with aiohttp.ClientSession(headers=tts.headers) as http:
        async with http.post(tts.url + "/v1/audio/speech", json=body) as response:
            assert response.status == 200 and await response.content.readany()


def test_transcription_bad_inputs_are_400(stt: LiveWorker) -> None:
    create = _client(stt).audio.transcriptions.create
    body = _bad_request(lambda: create(model=STT_MODEL, file=("a.mp3", b"this is not audio" * 100)))
    assert body["param"] == "file" and "decode" in str(body["message"])
    assert _bad_request(lambda: create(model=STT_MODEL, file=("a.wav", b"")))["param"] == "file"
    bad_format = _bad_request(lambda: create(model=STT_MODEL, file=("a.wav", b"RIFF"), response_format="xml"))
    assert bad_format["param"] == "response_format"
    srt_stream = _bad_request(
        lambda: create(model=STT_MODEL, file=("a.wav", b"RIFF"), response_format="srt", stream=True)
    )
    assert srt_stream["param"] == "response_format" and "stream" in str(srt_stream["message"])
    assert _bad_request(lambda: create(model=STT_MODEL, file=("a.wav", b"RIFF"), extra_body={"stream": "maybe"}))[
        "param"
    ] == "stream"


def test_uploads_up_to_the_gateways_limit_reach_the_engine(stt: LiveWorker) -> None:
    create = _client(stt).audio.transcriptions.create
    near_limit = b"not audio " * (MAX_REQUEST_BYTES // 10 - 1000)  # passes the gateway; the worker must take it
    assert _bad_request(lambda: create(model=STT_MODEL, file=("big.mp3", near_limit)))["param"] == "file"
    with pytest.raises(openai.APIStatusError) as err:
        create(model=STT_MODEL, file=("huge.mp3", b"\0" * (MAX_REQUEST_BYTES + 1)))
    assert err.value.status_code == 413


def test_max_upload_mb_sets_the_workers_limit(tmp_path: Path) -> None:
    with LiveWorker("faster-whisper", STT_MODEL, tmp_path, "--max-upload-mb", "1") as small:
        create = _client(small).audio.transcriptions.create
        assert _bad_request(lambda: create(model=STT_MODEL, file=("a.mp3", b"x" * 900_000)))["param"] == "file"
        with pytest.raises(openai.APIStatusError) as err:
            create(model=STT_MODEL, file=("a.mp3", b"x" * 1_100_000))
        assert err.value.status_code == 413 and "1048576" in str(err.value.message)


async def test_wrong_content_type_and_wrong_endpoint(stt: LiveWorker, tts: LiveWorker) -> None:
    async with aiohttp.ClientSession(headers=stt.headers) as http:
        async with http.post(stt.url + "/v1/audio/transcriptions", json={"file": "x"}) as response:
            assert response.status == 400 and "multipart" in (await response.json())["error"]["message"]
        async with http.post(stt.url + "/v1/audio/speech", json={"input": "hi"}) as response:
            assert response.status == 404
    async with aiohttp.ClientSession() as http:  # no secret
        async with http.post(tts.url + "/v1/audio/speech", data=json.dumps({"input": "hi"})) as response:
            assert response.status == 401
