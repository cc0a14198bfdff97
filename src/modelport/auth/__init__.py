"""API keys: format and hashing (pure), verification with a short cache, and the scope checks."""
