"""Wire schemas, one module per provider API: pure data, provider field order, no engine imports."""
