"""Create or drop the stack's PostgreSQL databases (used by scripts/stack.sh and the tests).

    python scripts/stack_db.py check  --url postgresql://user@host:port/postgres
    python scripts/stack_db.py create DB [DB...] --url ...   (existing ones are kept)
    python scripts/stack_db.py drop   DB [DB...] --url ...   (missing ones are ignored)

The URL names the maintenance database; its user needs CREATEDB. Exit status 1 with one
line naming the server when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import closing

import psycopg2
from psycopg2 import sql

# Database names become identifiers; keep them plain so no quoting surprises anyone.
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def connect(url: str):
    """An autocommit connection (CREATE/DROP DATABASE cannot run inside a transaction)."""
    try:
        conn = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        reason = " ".join(str(exc).split())
        raise SystemExit(
            f"stack_db: PostgreSQL not reachable at {_redact(url)}: {reason}"
        ) from None
    conn.autocommit = True
    return conn


def create(url: str, names: list[str]) -> None:
    # closing(), not `with conn`: that would open a transaction even in autocommit mode.
    with closing(connect(url)) as conn, conn.cursor() as cur:
        for name in names:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"stack_db: created database {name}", file=sys.stderr)


def drop(url: str, names: list[str]) -> None:
    # closing(), not `with conn`: that would open a transaction even in autocommit mode.
    with closing(connect(url)) as conn, conn.cursor() as cur:
        for name in names:
            # FORCE ends sessions a crashed server may have left behind.
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            print(f"stack_db: dropped database {name}", file=sys.stderr)


def _redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", url)


def _db_name(text: str) -> str:
    if not _NAME.match(text):
        raise argparse.ArgumentTypeError(f"expected a name like nnflow_mlflow, got {text!r}")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["check", "create", "drop"])
    parser.add_argument("names", nargs="*", type=_db_name)
    parser.add_argument("--url", required=True, help="postgresql://user@host:port/postgres")
    args = parser.parse_args(argv)
    if args.action == "check":
        connect(args.url).close()
    elif args.action == "create":
        create(args.url, args.names)
    else:
        drop(args.url, args.names)


if __name__ == "__main__":
    main()
