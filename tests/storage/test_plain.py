"""storage.sqlite_io.Plain runs SQLAlchemy statements on the bare sqlite3 cursor: what it writes to the file
must be byte for byte what SQLAlchemy writes, and what it reads back what SQLAlchemy reads."""

from __future__ import annotations

import datetime as dt
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    Table,
    bindparam,
    create_engine,
    insert,
    select,
)

from storage.sqlite_io import Plain

meta = MetaData()
stamps = Table(
    "stamps",
    meta,
    Column("id", Integer, primary_key=True),
    Column("day", Date),
    Column("at", DateTime(timezone=True)),
    Column("naive_at", DateTime),
)
INSERT = insert(stamps).values(
    id=bindparam("id"), day=bindparam("day"), at=bindparam("at"), naive_at=bindparam("at")
)
BY_ID = select(stamps).where(stamps.c.id == bindparam("id"))

instants = st.datetimes(timezones=st.sampled_from([None, dt.UTC]))


@settings(max_examples=300, deadline=None)
@given(instant=instants, day=st.dates())
def test_plain_stores_and_reads_dates_exactly_as_sqlalchemy(instant: dt.datetime, day: dt.date) -> None:
    engine = create_engine("sqlite://")
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(INSERT, {"id": 1, "day": day, "at": instant})  # through SQLAlchemy
        raw = conn.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        plain = Plain(INSERT, engine.dialect)
        plain.execute(raw, {"id": 2, "day": day, "at": instant})  # through Plain
        stored = raw.execute("SELECT day, at, naive_at FROM stamps ORDER BY id").fetchall()
        assert stored[0] == stored[1]
        theirs = conn.execute(BY_ID, {"id": 1}).one()
        ours = Plain(BY_ID, engine.dialect).first(raw, {"id": 2})
        assert (
            (ours.day, ours.at, ours.naive_at)
            == (theirs.day, theirs.at, theirs.naive_at)
            == (
                day,
                instant.replace(tzinfo=None),
                instant.replace(tzinfo=None),
            )
        )
