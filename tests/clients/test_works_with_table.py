"""README's "Works with" table is the one the client suite generates (tests/clients/works_with.py): the pinned
versions, and what is tested as the suite's own test names say."""

from __future__ import annotations

from tests.clients.works_with import CLIENTS, README, Client, readme_section, section


def test_the_readme_table_is_the_generated_one() -> None:
    assert readme_section(README.read_text()) == section(), "run: .venv/bin/python -m tests.clients.works_with"


def test_every_client_test_lands_in_a_row() -> None:
    for client in CLIENTS:
        assert client.tests(), f"{client.label}: no test selected"
    for module in {client.module for client in CLIENTS}:
        in_rows = {name for client in CLIENTS if client.module == module for name in client.tests()}
        assert set(Client("every test", str, module).tests()) <= in_rows, module
