"""The migration chain: every revision steps down to an empty store and back up to the same
schema on each dialect, and a revision made from the template joins the chain at its head."""

from __future__ import annotations

import shutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.engine.interfaces import ReflectedIndex

from sync.store.migrate import MIGRATIONS, alembic_config, current, heads, upgrade


def schema(engine: Engine) -> dict[str, object]:
    """Each table's columns, primary key, unique constraints and indexes."""
    inspector = inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            inspector.get_pk_constraint(table),
            sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            sorted(
                (i["name"], tuple(i["column_names"]), i["unique"], where(i))
                for i in inspector.get_indexes(table)
            ),
        )
        for table in sorted(inspector.get_table_names())
    }


def where(index: ReflectedIndex) -> list[tuple[str, str]]:
    """A partial index's predicate, as text."""
    return sorted((k, str(v)) for k, v in index.get("dialect_options", {}).items())


def step_down(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")


def test_every_revision_steps_down_to_an_empty_store_and_back(store: Engine) -> None:
    at_head = schema(store)
    revisions = len(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))
    for _ in range(revisions):
        step_down(store)
    assert current(store) == set()
    assert set(schema(store)) == {"alembic_version"}
    upgrade(store)
    assert current(store) == heads()
    assert schema(store) == at_head


def test_a_revision_from_the_template_joins_the_chain_at_its_head(tmp_path: Path) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    config = Config()
    config.set_main_option("script_location", str(location))
    (head,) = heads()

    command.revision(config, message="plain", rev_id="9001")
    command.revision(config, message="labelled", rev_id="9002", branch_label="side")

    scripts = ScriptDirectory.from_config(config)
    plain, labelled = scripts.get_revision("9001"), scripts.get_revision("9002")
    assert plain is not None and labelled is not None
    assert (plain.down_revision, plain.doc) == (head, "plain")
    assert not hasattr(plain.module, "branch_labels")  # the short header states only what is set
    assert (labelled.down_revision, labelled.module.branch_labels) == ("9001", ("side",))
    assert scripts.get_heads() == ["9002"]
