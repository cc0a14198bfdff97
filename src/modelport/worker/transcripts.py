"""Rendering a `Transcript` as OpenAI's transcription response formats. Pure functions.

json and verbose_json carry `usage` as OpenAI's duration-billed models do ({"type": "duration",
"seconds": N}, whole seconds rounded up); text is the text and a newline; srt and vtt have one cue per
segment. With `stream=true` the text arrives as `transcript.text.delta` events, one per segment, then a
closing `transcript.text.done` with the whole text and the usage.
"""

from __future__ import annotations

import math
from typing import Any

from modelport.engines.media import Segment, Transcript

#: Whisper language codes -> the lower-case English names OpenAI's verbose_json reports; other codes
#: are reported as the code itself.
LANGUAGE_NAMES = {
    "en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
    "nl": "dutch", "ru": "russian", "zh": "chinese", "ja": "japanese", "ko": "korean", "ar": "arabic",
    "hi": "hindi", "pl": "polish", "tr": "turkish", "sv": "swedish", "uk": "ukrainian", "cs": "czech",
}  # fmt: skip


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt(transcript: Transcript) -> str:
    """SubRip: numbered cues from 1, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, a blank line after each."""
    cues = [
        f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{s.text.strip()}\n"
        for i, s in enumerate(transcript.segments, start=1)
    ]
    return "\n".join(cues) + ("\n" if cues else "")


def vtt(transcript: Transcript) -> str:
    """WebVTT: the `WEBVTT` header, then `HH:MM:SS.mmm --> HH:MM:SS.mmm` cues."""
    cues = [f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{s.text.strip()}\n" for s in transcript.segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def _usage(transcript: Transcript) -> dict[str, Any]:
    return {"type": "duration", "seconds": math.ceil(transcript.duration)}


def _segment(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "seek": segment.seek,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "tokens": list(segment.tokens),
        "temperature": segment.temperature,
        "avg_logprob": segment.avg_logprob,
        "compression_ratio": segment.compression_ratio,
        "no_speech_prob": segment.no_speech_prob,
    }


def verbose_json(transcript: Transcript, task: str, words: bool) -> dict[str, Any]:
    """verbose_json: task, language, duration, text, segments (and words when asked for)."""
    body: dict[str, Any] = {
        "task": task,
        "language": LANGUAGE_NAMES.get(transcript.language, transcript.language),
        "duration": transcript.duration,
        "text": transcript.text,
        "segments": [_segment(s) for s in transcript.segments],
    }
    if words:
        body["words"] = [
            {"word": w.word.strip(), "start": w.start, "end": w.end} for s in transcript.segments for w in s.words
        ]
    body["usage"] = _usage(transcript)
    return body


def delta_event(segment: Segment) -> dict[str, Any]:
    """`transcript.text.delta` for one decoded segment (the first one without Whisper's leading space)."""
    return {"type": "transcript.text.delta", "delta": segment.text.lstrip() if segment.id == 0 else segment.text}


def done_event(transcript: Transcript) -> dict[str, Any]:
    """`transcript.text.done`: the whole text (the deltas joined, stripped) and the duration-billed usage."""
    return {"type": "transcript.text.done", "text": transcript.text, "usage": _usage(transcript)}


def render(transcript: Transcript, response_format: str, task: str, words: bool) -> tuple[Any, str]:
    """(body, content type): a dict for the JSON formats, a string for text, srt and vtt."""
    if response_format == "json":
        return {"text": transcript.text, "usage": _usage(transcript)}, "application/json"
    if response_format == "verbose_json":
        return verbose_json(transcript, task, words), "application/json"
    if response_format == "srt":
        return srt(transcript), "application/x-subrip"
    if response_format == "vtt":
        return vtt(transcript), "text/vtt"
    return transcript.text + "\n", "text/plain"
