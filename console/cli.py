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

    imp = sub.add_parser("import", help="import accounts and users from a CSV file (all or nothing; see README)")
    imp.add_argument("file", help="CSV file, one line per user")
    imp.add_argument("--dry-run", action="store_true", help="check the file and show what would change; write nothing")

    exp = sub.add_parser("export", help="export users, devices, charges or audit entries to CSV")
    exp.add_argument("kind", choices=("users", "devices", "charges", "audit"))
    exp.add_argument("file", help="CSV file to write")

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


def _phase_bar(phase: str, done: int, total: int) -> None:
    sys.stderr.write(f"{phase:<9}")
    _progress_bar(done, total)


def cmd_import(args) -> int:
    from console.app import desk_actor
    from console.models.importing import ImportRefused, ImportService

    ctx = open_context(database_url(args.database))
    service = ImportService(ctx)
    actor = desk_actor()
    plan = service.preview(actor, args.file, _phase_bar)
    for error in plan.errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    if plan.error_count > len(plan.errors):
        print(f"... and {plan.error_count - len(plan.errors):,} more problems", file=sys.stderr)
    print(plan.summary())
    if not plan.ok:
        print("Nothing was imported. Correct the file and run the import again.", file=sys.stderr)
        return 1
    if args.dry_run:
        print("Dry run: nothing was written.")
        return 0
    try:
        result = service.apply(actor, args.file, _phase_bar)
    except ImportRefused as exc:  # the database changed since the check above
        for error in exc.plan.errors:
            print(f"{args.file}: {error}", file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return 1
    print(f"Imported {result.file_name}: {result.accounts_created:,} accounts created, {result.accounts_updated:,} "
          f"updated; {result.users_created:,} users created, {result.users_updated:,} updated "
          f"into {ctx.db.display_name}")
    return 0


def cmd_export(args) -> int:
    from console.app import desk_actor
    from console.models.exporting import ExportService

    ctx = open_context(database_url(args.database))
    result = ExportService(ctx).export(desk_actor(), args.kind, args.file, _progress_bar)
    print(f"Exported {result.rows:,} {args.kind} to {result.path}")
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
        if command == "import":
            return cmd_import(args)
        if command == "export":
            return cmd_export(args)
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
