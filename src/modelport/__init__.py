"""modelport: one port for every model a team runs."""

__version__ = "0.1.0"
