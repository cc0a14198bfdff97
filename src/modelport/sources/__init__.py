"""Where models come from when `--model` names one by its name: the Hugging Face Hub (or a mirror), an
Ollama registry, or a local file or folder. Downloads land in one cache shared by every instance and
gateway on the machine (`cache.py`), resumable, checked and fetched once for concurrent deploys."""
