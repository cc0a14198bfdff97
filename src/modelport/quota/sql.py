"""The counter's statements, written once as plain SQL that SQLite and PostgreSQL both run (upserts with
`ON CONFLICT`), and handed to the driver directly: building them with SQLAlchemy's expression language cost
more CPU per admission than everything else together. `:name` parameters become `%(name)s` for psycopg."""

from __future__ import annotations

import re

LOCK = "SELECT id FROM api_keys WHERE id = :key FOR UPDATE"
PRUNE_WINDOWS = 'DELETE FROM quota_windows WHERE key_id = :key AND "second" <= :old'
PRUNE_SLOTS = "DELETE FROM quota_slots WHERE key_id = :key AND held_until < :now"
_IN_WINDOW = 'FROM quota_windows WHERE key_id = :key AND scope = :scope AND "second" > :old'
_BUDGET = "FROM quota_budgets WHERE key_id = :key AND scope = :scope"
MEASURE = (  # one round trip for every kind of limit of a scope
    f'SELECT (SELECT COALESCE(SUM(requests), 0) {_IN_WINDOW}), (SELECT COALESCE(SUM(tokens), 0) {_IN_WINDOW}), '
    f'(SELECT MIN("second") {_IN_WINDOW}), '
    "(SELECT COUNT(*) FROM quota_slots WHERE key_id = :key AND held_until >= :now "
    "AND (:scope = '' OR deployment = :scope)), "
    f"(SELECT used {_BUDGET}), (SELECT period_start {_BUDGET})")
WINDOW_ROWS = ('SELECT "second", requests, tokens FROM quota_windows '
               'WHERE key_id = :key AND scope = :scope AND "second" > :old ORDER BY "second"')
TAKE_SLOT = "INSERT INTO quota_slots (id, key_id, deployment, held_until) VALUES (:id, :key, :scope, :until)"
COUNT = ('INSERT INTO quota_windows (key_id, scope, "second", requests, tokens) '
         'VALUES (:key, :scope, :second, 1, :tokens) ON CONFLICT (key_id, scope, "second") DO UPDATE '
         'SET requests = quota_windows.requests + 1, tokens = quota_windows.tokens + excluded.tokens')
CHARGE = ("INSERT INTO quota_budgets (key_id, scope, period_start, used) VALUES (:key, :scope, :start, :tokens) "
          "ON CONFLICT (key_id, scope) DO UPDATE SET used = CASE WHEN quota_budgets.period_start = "
          "excluded.period_start THEN quota_budgets.used + excluded.used ELSE excluded.used END, "
          "period_start = excluded.period_start")
FREE_SLOT = "DELETE FROM quota_slots WHERE id = :id"
CORRECT_WINDOW = ('UPDATE quota_windows SET tokens = tokens + :delta '
                  'WHERE key_id = :key AND scope = :scope AND "second" = :second')
CORRECT_BUDGET = ("UPDATE quota_budgets SET used = used + :delta "
                  "WHERE key_id = :key AND scope = :scope AND period_start = :start")
RENEW = "UPDATE quota_slots SET held_until = :until WHERE id = :id"

_PARAMETER = re.compile(r":([a-z_]+)")


class Statements:
    """Every statement above in the parameter style of one dialect ("sqlite" or "postgresql")."""

    def __init__(self, dialect: str) -> None:
        convert = (lambda sql: sql) if dialect == "sqlite" else (lambda sql: _PARAMETER.sub(r"%(\1)s", sql))
        self.postgres = dialect != "sqlite"
        self.lock = convert(LOCK)
        self.prune_windows, self.prune_slots = convert(PRUNE_WINDOWS), convert(PRUNE_SLOTS)
        self.measure, self.window_rows = convert(MEASURE), convert(WINDOW_ROWS)
        self.take_slot = convert(TAKE_SLOT)
        self.count, self.charge = convert(COUNT), convert(CHARGE)
        self.free_slot, self.renew = convert(FREE_SLOT), convert(RENEW)
        self.correct_window, self.correct_budget = convert(CORRECT_WINDOW), convert(CORRECT_BUDGET)
