"""The Alembic side of tests/tests/alembic.rs (migrator_agrees_with_alembic).

Usage: driver.py FIXTURE_DIR WORK_DIR < sequences.json > results.json

FIXTURE_DIR is a migrator migrations directory (tests/fixtures/alembic/NAME)
whose revisions each create a table `t_<id>` and drop it on downgrade. The
driver writes the same revision graph as an Alembic script directory under
WORK_DIR/alembic (one `versions/<id>.py` per revision, a minimal online
`env.py` for SQLite), then reads a JSON list of command sequences from stdin,
each a list of `[command, target]` pairs (command: upgrade, downgrade,
stamp or `stamp --purge`), and runs each sequence on a fresh SQLite file
WORK_DIR/db-N.sqlite, one command after the other, in this process, with
`alembic.command.upgrade/downgrade/stamp(cfg, target[, purge=True])`.

It prints one JSON object on stdout:

    {"alembic": "1.x.y", "sqlalchemy": "2.x.y",
     "results": [[{"ok": true, "error": null,
                   "executed": [["upgrade", "a1"], ...],
                   "current": ["b1", "c1"], "tables": ["t_a1", ...]},
                  ...one per command...],
                 ...one per sequence...]}

`executed` is what the revisions' own upgrade()/downgrade() functions
logged, in order (so `stamp` executes nothing); `current` is
`MigrationContext.get_current_heads()`, sorted; `tables` every table name,
sorted (alembic_version included: the caller ignores bookkeeping tables).
Both are read on a new connection after the command, so they show what was
committed. A command that raised has `ok` false and `error` set to the
exception's type and message; what it executed before raising is still
logged.
"""

import contextlib
import json
import os
import re
import sys

import alembic
import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool

ENV_PY = '''\
"""Online mode only: one SQLite connection per command."""
from alembic import context
from sqlalchemy import create_engine, pool

engine = create_engine(
    context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool
)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''

REVISION_PY = '''\
"""Create t_{id}"""
from alembic import context, op

revision = {id!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE t_{id} (id INTEGER NOT NULL PRIMARY KEY)")
    context.config.attributes["log"].append(["upgrade", {id!r}])


def downgrade():
    op.execute("DROP TABLE t_{id}")
    context.config.attributes["log"].append(["downgrade", {id!r}])
'''


def read_fixture(fixture_dir):
    """(id, [parent ids]) of every revision file of a migrator directory."""
    revisions = []
    for name in sorted(os.listdir(fixture_dir)):
        if not name.endswith(".sql") or name.startswith("."):
            continue
        with open(os.path.join(fixture_dir, name), encoding="utf-8") as f:
            text = f.read()
        rev = re.search(r"^--\s*Revision ID:[ \t]*(\S+)[ \t]*$", text, re.M | re.I)
        revises = re.search(r"^--\s*Revises:[ \t]*(.*?)[ \t]*$", text, re.M | re.I)
        if not rev or not revises:
            raise SystemExit(f"{name}: no `Revision ID:` or `Revises:` field")
        parents = [p.strip() for p in revises.group(1).split(",") if p.strip()]
        revisions.append((rev.group(1), parents))
    if not revisions:
        raise SystemExit(f"{fixture_dir}: no revision")
    return revisions


def write_script_dir(revisions, script_dir):
    versions = os.path.join(script_dir, "versions")
    os.makedirs(versions, exist_ok=True)
    with open(os.path.join(script_dir, "env.py"), "w", encoding="utf-8") as f:
        f.write(ENV_PY)
    for rev, parents in revisions:
        if not parents:
            down = None
        elif len(parents) == 1:
            down = parents[0]
        else:
            down = tuple(parents)
        with open(os.path.join(versions, f"{rev}.py"), "w", encoding="utf-8") as f:
            f.write(REVISION_PY.format(id=rev, down=down))


def cache_script_directories():
    """Every command builds a ScriptDirectory and imports every revision
    file again; the graph never changes within a run, so build it once."""
    cache = {}
    original = ScriptDirectory.from_config.__func__

    def from_config(cls, config):
        key = config.get_main_option("script_location")
        if key not in cache:
            cache[key] = original(cls, config)
        return cache[key]

    ScriptDirectory.from_config = classmethod(from_config)


def observe(url):
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
            tables = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    return sorted(heads), sorted(tables)


COMMANDS = {
    "upgrade": command.upgrade,
    "downgrade": command.downgrade,
    "stamp": command.stamp,
    "stamp --purge": lambda cfg, target: command.stamp(cfg, target, purge=True),
}


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    fixture_dir, work_dir = sys.argv[1], sys.argv[2]
    sequences = json.load(sys.stdin)
    script_dir = os.path.join(work_dir, "alembic")
    write_script_dir(read_fixture(fixture_dir), script_dir)
    cache_script_directories()

    out = sys.stdout
    results = []
    # Nothing but the JSON goes to stdout.
    with contextlib.redirect_stdout(sys.stderr):
        for n, sequence in enumerate(sequences):
            db = os.path.join(work_dir, f"db-{n}.sqlite")
            if os.path.exists(db):
                os.remove(db)
            url = f"sqlite:///{db}"
            cfg = Config()
            cfg.set_main_option("script_location", script_dir)
            cfg.set_main_option("sqlalchemy.url", url)
            outcomes = []
            for name, target in sequence:
                log = cfg.attributes["log"] = []
                try:
                    COMMANDS[name](cfg, target)
                    error = None
                except Exception as e:  # noqa: BLE001 - any failure is a result
                    error = f"{type(e).__name__}: {e}"
                current, tables = observe(url)
                outcomes.append(
                    {
                        "ok": error is None,
                        "error": error,
                        "executed": list(log),
                        "current": current,
                        "tables": tables,
                    }
                )
            results.append(outcomes)
            os.remove(db)
    json.dump(
        {
            "alembic": alembic.__version__,
            "sqlalchemy": sqlalchemy.__version__,
            "results": results,
        },
        out,
    )
    out.write("\n")


if __name__ == "__main__":
    main()
