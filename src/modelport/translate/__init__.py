"""Protocol translators: one subpackage per (input API, output API) pair, pure functions and state objects.

- ``anthropic_openai``: Anthropic Messages in, OpenAI Chat Completions backend out.
"""
