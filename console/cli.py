"""Command line: `sls-console` runs the console; subcommands fill demo data and check the audit trail."""

from __future__ import annotations

import argparse
import sys
import time

from console.app import database_url, open_context


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sls-console", description="Staff console for the Secure Login System.")
    p.add_argument("--database", metavar="URL", help="SQLAlchemy database URL (default: $SLS_CONSOLE_DATABASE_URL, "
                                                     "else a SQLite file in your data directory)")
    sub = p.add_subparsers(dest="command")

    run = sub.add_parser("run", help="open the console window (the default)")
    run.add_argument("--no-demo", action="store_true", help="do not fill an empty database with demo data")

    demo = sub.add_parser("demo", help="add realistic demo data")
    demo.add_argument("--users", type=int, default=10_000, help="about how many users to add (default 10000)")
    demo.add_argument("--seed", type=int, default=None, help="random seed, for repeatable data")

    sub.add_parser("upgrade", help="create or upgrade the database schema")

    aud = sub.add_parser("audit", help="audit trail commands")
    aud_sub = aud.add_subparsers(dest="audit_command", required=True)
    aud_sub.add_parser("verify", help="walk the hash chain; exit 0 when intact, 1 naming the first bad entry")
    return p


def _progress_bar(done: int, total: int) -> None:
    width = 40
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def cmd_demo(args) -> int:
    from console.models.demo import generate
    from console.models.settings import load_figures

    if args.users < 1:
        print("--users must be at least 1.", file=sys.stderr)
        return 2
    ctx = open_context(database_url(args.database))
    with ctx.db.read() as s:
        figures = load_figures(s)
    summary = generate(ctx, figures, args.users, seed=args.seed, progress=_progress_bar)
    print(f"Added {summary.users:,} users in {summary.accounts:,} accounts, {summary.devices:,} devices, "
          f"{summary.charges:,} charges, {summary.audit_entries:,} audit entries in {summary.seconds:.1f} s "
          f"to {ctx.db.display_name}")
    return 0


def cmd_upgrade(args) -> int:
    from console.models.schema import current_revision

    ctx = open_context(database_url(args.database))
    print(f"{ctx.db.display_name} is at schema revision {current_revision(ctx.db)}")
    return 0


def cmd_audit_verify(args) -> int:
    from console.models import audit

    ctx = open_context(database_url(args.database))
    started = time.perf_counter()
    with ctx.db.read() as s:
        result = audit.verify(s)
    seconds = time.perf_counter() - started
    if result.ok:
        print(f"Audit trail intact: {result.count:,} entries, head {result.head_hash} "
              f"({seconds:.1f} s)")
        return 0
    print(f"Audit trail BROKEN: {result.problem}. {result.count:,} entries verified before it.", file=sys.stderr)
    return 1


def cmd_run(args) -> int:
    from console.gui import run_gui

    return run_gui(database_url(args.database), demo_if_empty=not getattr(args, "no_demo", False))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    try:
        if command == "run":
            return cmd_run(args)
        if command == "demo":
            return cmd_demo(args)
        if command == "upgrade":
            return cmd_upgrade(args)
        if command == "audit" and args.audit_command == "verify":
            return cmd_audit_verify(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a person reads this; the detail goes to the log
        from console.models.errors import ConsoleError

        if isinstance(exc, ConsoleError):
            print(str(exc), file=sys.stderr)
            return 2
        raise
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
