"""Real-looking OpenAI/vLLM chat completion streams (SSE text) used by the translation tests."""

TEXT = """
data: {"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1730000000,"model":"qwen3","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1730000000,"model":"qwen3","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1730000000,"model":"qwen3","choices":[{"index":0,"delta":{"content":", world"},"logprobs":null,"finish_reason":null}]}

data: {"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1730000000,"model":"qwen3","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":null}]}

data: {"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1730000000,"model":"qwen3","choices":[],"usage":{"prompt_tokens":21,"total_tokens":24,"completion_tokens":3}}

data: [DONE]
"""

REASONING_THEN_TEXT = """
data: {"id":"chatcmpl-r1","object":"chat.completion.chunk","model":"qwen3","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"chatcmpl-r1","object":"chat.completion.chunk","model":"qwen3","choices":[{"index":0,"delta":{"reasoning_content":"The user "},"finish_reason":null}]}

data: {"id":"chatcmpl-r1","object":"chat.completion.chunk","model":"qwen3","choices":[{"index":0,"delta":{"reasoning_content":"greets me."},"finish_reason":null}]}

data: {"id":"chatcmpl-r1","object":"chat.completion.chunk","model":"qwen3","choices":[{"index":0,"delta":{"content":"Hi!"},"finish_reason":null}]}

data: {"id":"chatcmpl-r1","object":"chat.completion.chunk","model":"qwen3","choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":null}]}

data: {"id":"chatcmpl-r1","object":"chat.completion.chunk","model":"qwen3","choices":[],"usage":{"prompt_tokens":9,"total_tokens":20,"completion_tokens":11,"prompt_tokens_details":{"cached_tokens":4}}}

data: [DONE]
"""

# newer vLLM names the field "reasoning"; no usage chunk (client did not ask for include_usage)
REASONING_FIELD_NO_USAGE = """
data: {"id":"chatcmpl-r2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","reasoning":"hmm"},"finish_reason":null}]}

data: {"id":"chatcmpl-r2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"length"}]}

data: [DONE]
"""

TEXT_THEN_TWO_TOOLS = """
data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Checking both."},"finish_reason":null}]}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"id":"chatcmpl-tool-a1","type":"function","index":0,"function":{"name":"get_weather"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\": "}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"Paris\\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"id":"chatcmpl-tool-b2","type":"function","index":1,"function":{"name":"get_time","arguments":""}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\\"tz\\": \\"CET\\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\\n"},"finish_reason":null}]}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls","stop_reason":null}]}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":300,"total_tokens":340,"completion_tokens":40}}

data: [DONE]
"""

# fragments of two calls interleave; the first chunk carries both starts; usage rides on the finish chunk
INTERLEAVED_TOOLS = """
data: {"id":"chatcmpl-i","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"read","arguments":"{\\"pa"}},{"index":1,"id":"call_B","type":"function","function":{"name":"grep","arguments":"{\\"pat"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-i","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"tern\\": \\"x\\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-i","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"th\\": \\"/a\\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-i","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70}}

data: [DONE]
"""

STOP_SEQUENCE = """
data: {"id":"chatcmpl-s","choices":[{"index":0,"delta":{"role":"assistant","content":"1, 2, 3"},"finish_reason":null}]}

data: {"id":"chatcmpl-s","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop","stop_reason":"###"}]}

data: {"id":"chatcmpl-s","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}

data: [DONE]
"""

STOP_TOKEN_ID = """
data: {"id":"chatcmpl-s2","choices":[{"index":0,"delta":{"role":"assistant","content":"done"},"finish_reason":null}]}

data: {"id":"chatcmpl-s2","choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":151645}]}

data: [DONE]
"""
