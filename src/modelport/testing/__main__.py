"""``python -m modelport.testing``: run a fake OpenAI-compatible upstream until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from modelport.testing.server import FakeUpstream


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(prog="python -m modelport.testing",
                                     description="Serve a fake OpenAI-compatible upstream.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' on /v1")
    parser.add_argument("--model", action="append", dest="models", metavar="ID",
                        help="a model id to serve (repeatable; default: fake-model)")
    parser.add_argument("--no-record", action="store_true", help="do not keep received requests")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Start the fake, announce its URL on stdout, and serve until a stop signal."""
    fake = FakeUpstream(host=args.host, port=args.port, api_key=args.api_key,
                        models=tuple(args.models or ("fake-model",)), record=not args.no_record)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await fake.start()
    print(f"fake upstream listening on {fake.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
