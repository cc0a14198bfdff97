"""Wire schemas, one module per provider API: pure data, provider field order, no engine imports.

The gateway decodes what it routes on and translates; a worker decodes every JSON body it accepts
(`openai_generation`, `embeddings`, `rerank`, `openai_media`) with `validation.decode_request`, which turns
a decode error into a 400 naming the field.
"""
