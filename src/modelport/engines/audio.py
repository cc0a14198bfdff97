"""Streaming audio encoding for speech responses: 16-bit mono PCM in, encoded bytes out as they are made.

`pcm` is the raw samples; `wav` is a 44-byte RIFF/WAVE header followed by the samples. A stream
cannot know its final length when the header goes out, so the RIFF and data sizes carry 0xFFFFFFFF,
the "length unknown" value that OpenAI's streamed WAV, FFmpeg and Python's `wave` all accept (readers
stop at the end of the data). The compressed formats go through PyAV (FFmpeg's encoders: LAME for
mp3, libopus in Ogg for opus, FFmpeg's AAC in ADTS for aac, FLAC), muxed into an in-memory sink that
is drained after every sentence; Ogg pages are capped at 20 ms so opus audio is not held back.
"""

from __future__ import annotations

import contextlib
import io
import struct
from typing import Any

from modelport.engines.base import EngineUnavailable

#: Content-Type per speech response_format (as OpenAI answers them).
MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}

#: response_format -> (container, encoder, output sample rate or None for the voice's own).
_CODECS: dict[str, tuple[str, str, int | None]] = {
    "mp3": ("mp3", "libmp3lame", None),
    "opus": ("ogg", "libopus", 48000),
    "aac": ("adts", "aac", None),
    "flac": ("flac", "flac", None),
}

_UNKNOWN_SIZE = 0xFFFFFFFF
# Rates LAME and AAC accept; a voice at another rate is resampled to the nearest one above.
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def wav_header(sample_rate: int, channels: int = 1, sample_width: int = 2) -> bytes:
    """A PCM WAVE header for a stream of unknown length."""
    byte_rate = sample_rate * channels * sample_width
    return b"".join(
        (
            b"RIFF",
            struct.pack("<I", _UNKNOWN_SIZE),
            b"WAVEfmt ",
            struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, byte_rate, channels * sample_width, 16),
            b"data",
            struct.pack("<I", _UNKNOWN_SIZE),
        )
    )


class _Sink(io.RawIOBase):
    """A write-only, non-seekable file that collects what the muxer writes until drained."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        return len(data)

    def drain(self) -> bytes:
        out = bytes(self._buffer)
        self._buffer.clear()
        return out


class AudioEncoder:
    """Encodes int16 mono PCM chunks into one `response_format` stream; `push` then `finish`."""

    def __init__(self, response_format: str, sample_rate: int) -> None:
        if response_format not in MEDIA_TYPES:
            raise ValueError(f"unknown audio format {response_format!r}")
        self.response_format = response_format
        self.sample_rate = sample_rate
        self.media_type = MEDIA_TYPES[response_format]
        self._started = False
        self._pts = 0
        self._container: Any = None
        self._stream: Any = None
        self._sink = _Sink()
        if response_format in _CODECS:
            self._open_container()

    def _open_container(self) -> None:
        try:
            import av
        except ImportError as exc:
            raise EngineUnavailable(
                "encoding speech as mp3/opus/aac/flac needs PyAV: pip install 'modelport[piper]'"
                " (or run scripts/install-engines)"
            ) from exc
        container, codec, rate = _CODECS[self.response_format]
        if rate is None:
            rate = next((r for r in _MP3_RATES if r >= self.sample_rate), 48000)
        options = {"flush_packets": "1"}
        if container == "ogg":
            options["page_duration"] = "20000"
        self._container = av.open(self._sink, mode="w", format=container, options=options)
        self._stream = self._container.add_stream(codec, rate=rate, layout="mono")

    def push(self, pcm: bytes) -> bytes:
        """Encode one chunk of samples; returns the bytes ready to send (possibly empty)."""
        if self._container is None:
            head = b""
            if not self._started and self.response_format == "wav":
                head = wav_header(self.sample_rate)
            self._started = True
            return head + pcm
        import av
        import numpy as np

        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
        if samples.shape[1] == 0:
            return b""
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        self._pts += samples.shape[1]
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        return self._sink.drain()

    def finish(self) -> bytes:
        """Flush the encoder and close the container; returns the last bytes."""
        if self._container is None:
            if not self._started and self.response_format == "wav":
                self._started = True
                return wav_header(self.sample_rate)
            return b""
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._container = None
        return self._sink.drain()

    def close(self) -> None:
        """Release the encoder without flushing (the client went away)."""
        if self._container is not None:
            with contextlib.suppress(Exception):  # half-written output: nothing worth reporting
                self._container.close()
            self._container = None
