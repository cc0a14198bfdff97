"""Helpers for the speech, transcription and image tests: word error rate, audio and PNG inspection."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess

import pytest

#: Known sentences spoken and heard back by the speech and transcription tests (no digits: Whisper writes
#: numbers as it likes).
SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back after lunch tomorrow.",
    "Several large boxes arrived at the station this morning.",
)
#: German for the multilingual Whisper tests (spoken by espeak-ng).
GERMAN = "Guten Morgen. Das Wetter ist heute sehr schön, und wir gehen in den Park."


def words_of(text: str) -> list[str]:
    """Lower-case words without punctuation ("It's" -> "it's", "dog," -> "dog")."""
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level edit distance."""
    ref, hyp = words_of(reference), words_of(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / max(1, len(ref))


def decoded_seconds(data: bytes) -> tuple[float, int]:
    """(duration in seconds, sample rate) of an encoded audio file, by decoding every frame with PyAV."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        rate = int(stream.rate or stream.codec_context.sample_rate)
    return samples / rate, rate


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; asserts the PNG signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def espeak_wav(text: str, voice: str) -> bytes:
    """`text` spoken by espeak-ng in `voice` (e.g. "de") as a WAV file: speech in languages piper's one
    English voice cannot speak. scripts/test installs espeak-ng; without it the test is skipped."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/ensure-commands espeak-ng)")
    return subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "--stdout", text], capture_output=True,
                          check=True).stdout
