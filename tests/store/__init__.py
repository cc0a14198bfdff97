"""Tests of modelport.store, each run against SQLite and a real PostgreSQL server."""
