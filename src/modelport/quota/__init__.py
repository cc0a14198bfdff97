"""Limits per key: requests and tokens per minute over a sliding window, concurrent requests, and token
budgets per day, month or in total, counted in the store so that they hold across `--workers` and gateways.

`counter` admits (reserving the request's tokens and a concurrency slot) and settles (the real tokens,
slot freed) in short store transactions; `estimate` says what a request reserves; `answers` renders the
refusals and the `x-ratelimit-*` / `anthropic-ratelimit-*` headers; `parse` reads limits as the CLI and the
admin API take them.
"""
