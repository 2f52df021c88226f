"""Command line: `sls-console` runs the console; subcommands fill demo data, add staff, rotate the key and
check the audit trail."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time

from console import __version__
from console.app import database_url, open_context
from console.logs import setup_logging, where_details_are
from console.models.enums import StaffRole
from console.models.file_checks import readable_input, writable_output


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sls-console", description="Staff console for the Secure Login System.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--database", metavar="URL", help="SQLAlchemy database URL (default: $SLS_CONSOLE_DATABASE_URL, "
                                                     "else a SQLite file in your data directory)")
    sub = p.add_subparsers(dest="command")

    run = sub.add_parser("run", help="open the console window (the default)")
    run.add_argument("--no-demo", action="store_true", help="do not fill an empty database with demo data")

    demo = sub.add_parser("demo", help="add realistic demo data")
    demo.add_argument("--users", type=int, default=10_000, help="about how many users to add (default 10000)")
    demo.add_argument("--seed", type=int, default=None, help="random seed, for repeatable data")
    demo.add_argument("--as", dest="as_user", metavar="ADMIN",
                      help="sign in as this administrator (needed when the database has staff of its own)")

    sub.add_parser("upgrade", help="create or upgrade the database schema")

    db = sub.add_parser("db", help="database administration (PostgreSQL)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    grant = db_sub.add_parser("grant", help="give the role the desks connect as only the privileges the console "
                                            "needs (the audit trail append-only); run as the schema's owner "
                                            "after every upgrade")
    grant.add_argument("role", help="the PostgreSQL role the desks use")

    staff = sub.add_parser("staff", help="staff accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", help="add a staff member (the first administrator on a new database); "
                                           "prints the otpauth URI for their authenticator app")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="full name")
    add.add_argument("--role", required=True, choices=[r.name.replace("_", "-") for r in StaffRole])
    add.add_argument("--as", dest="as_user", metavar="ADMIN",
                     help="sign in as this administrator (needed once the database has staff)")
    unlock = staff_sub.add_parser("unlock", help="lift a staff member's sign-in lock")
    unlock.add_argument("username")
    unlock.add_argument("--as", dest="as_user", metavar="ADMIN", required=True)
    role = staff_sub.add_parser("role", help="give a staff member another role; their open desks are refused at "
                                             "the next action and sign in again with the new role")
    role.add_argument("username")
    role.add_argument("role", choices=[r.name.replace("_", "-") for r in StaffRole])
    role.add_argument("--as", dest="as_user", metavar="ADMIN", required=True)

    key = sub.add_parser("key", help="master key commands")
    key_sub = key.add_subparsers(dest="key_command", required=True)
    rotate = key_sub.add_parser("rotate", help="add a new master key, re-seal every secret under it while other "
                                            "desks keep working, then retire the old key")
    rotate.add_argument("--as", dest="as_user", metavar="ADMIN", required=True)

    imp = sub.add_parser("import", help="import accounts and users from a CSV file (all or nothing; see README)")
    imp.add_argument("file", help="CSV file, one line per user")
    imp.add_argument("--dry-run", action="store_true", help="check the file and show what would change; write nothing")
    imp.add_argument("--as", dest="as_user", metavar="STAFF", required=True,
                     help="sign in as this staff member (back office or administrator)")

    exp = sub.add_parser("export", help="export users, devices, charges or audit entries to CSV")
    exp.add_argument("kind", choices=("users", "devices", "charges", "audit"))
    exp.add_argument("file", help="CSV file to write")
    exp.add_argument("--as", dest="as_user", metavar="STAFF", required=True,
                     help="sign in as this staff member (back office, auditor or administrator)")

    sub.add_parser("doctor", help="check what the console needs here (Qt, display, database, key, keyring, "
                                  "data directory, clock); one line each with its fix; exit 1 when one fails")

    acc = sub.add_parser("account", help="account commands")
    acc_sub = acc.add_subparsers(dest="account_command", required=True)
    close = acc_sub.add_parser("close", help="close an account: its users' holdings end, each unreturned device "
                                             "is charged once, reserves settle (see docs/rules.md)")
    close.add_argument("number", help="account number, e.g. U1234567")
    close.add_argument("--force-reason", metavar="TEXT",
                       help="close although a return is on its way, for this reason (kept in the audit trail)")
    close.add_argument("--as", dest="as_user", metavar="STAFF", required=True,
                       help="sign in as this staff member (back office or administrator)")

    rep = sub.add_parser("report", help="write the monthly report (PDF or CSV, by the file's extension); "
                                        "recorded in the audit trail")
    rep.add_argument("--month", required=True, metavar="YYYY-MM", help="the month the report covers")
    rep.add_argument("file", help="PDF or CSV file to write")
    rep.add_argument("--as", dest="as_user", metavar="STAFF", required=True,
                     help="sign in as this staff member (back office, auditor or administrator)")

    aud = sub.add_parser("audit", help="audit trail commands")
    aud_sub = aud.add_subparsers(dest="audit_command", required=True)
    aud_sub.add_parser("verify", help="walk the hash chain; exit 0 when intact, 1 naming the first bad entry")
    return p


_stop_requested: list[int] = []  # signals received by _stop_on_sigterm's handler


def _progress_bar(done: int, total: int) -> None:
    if _stop_requested:  # the handler's KeyboardInterrupt was swallowed (it struck inside a __del__): again
        raise KeyboardInterrupt
    width = 40
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _stop_on_sigterm() -> None:
    """SIGTERM (kill, a service manager) ends a long command like Ctrl+C does: through its clean-up. The
    signal is also remembered, because an exception raised by a handler while Python runs a __del__ (the demo
    writer's pipes) is printed and ignored; the progress bar raises it again."""
    import signal

    def stop(signum, frame):
        _stop_requested.append(signum)
        raise KeyboardInterrupt

    def unraisable(info) -> None:  # the swallowed stop: no "Exception ignored" traceback on the terminal
        if not (_stop_requested and isinstance(info.exc_value, KeyboardInterrupt)):
            default_hook(info)

    default_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def cmd_demo(args) -> int:
    from console.models.demo import generate
    from console.models.demo_limits import check_size
    from console.models.settings import load_figures

    _stop_on_sigterm()
    ctx = open_context(database_url(args.database))
    check_size(ctx.db, args.users)  # before asking for a password
    with ctx.db.read() as s:
        figures = load_figures(s)
    with contextlib.ExitStack() as stack:
        actor = stack.enter_context(_signed_in(ctx, args.as_user)) if args.as_user else None
        summary = generate(ctx, figures, args.users, seed=args.seed, progress=_progress_bar, actor=actor)
    print(f"Added {summary.users:,} users in {summary.accounts:,} accounts, {summary.devices:,} devices, "
          f"{summary.charges:,} charges, {summary.audit_entries:,} audit entries in {summary.seconds:.1f} s "
          f"to {ctx.db.display_name}")
    from console.models.demo_staff import create_demo_staff, sign_in_instructions
    from console.models.staff import StaffService

    enrollments = create_demo_staff(StaffService(ctx))
    if enrollments:
        print(sign_in_instructions(enrollments))
    return 0


def ask_secret(prompt: str) -> str:
    """Passwords and codes are read without echo (tests replace this function)."""
    import getpass

    return getpass.getpass(prompt)


@contextlib.contextmanager
def _signed_in(ctx, username: str):
    """A session for the length of one command: signed in first, signed out however the command ends."""
    from console.models.staff import StaffService

    password = ask_secret(f"Password for {username}: ")
    code = ask_secret(f"Authenticator code for {username}: ")
    service = StaffService(ctx)
    actor = service.sign_in(username, password, code)
    try:
        yield actor
    finally:
        service.sign_out(actor)


def _new_password(username: str) -> str:
    first = ask_secret(f"New password for {username}: ")
    if ask_secret("Repeat the password: ") != first:
        from console.models.errors import InvalidInput

        raise InvalidInput("The two passwords differ; nothing was changed.")
    return first


def cmd_staff(args) -> int:
    from console.models.staff import StaffService

    ctx = open_context(database_url(args.database))
    service = StaffService(ctx)
    if args.staff_command == "unlock":
        with _signed_in(ctx, args.as_user) as actor:
            service.unlock(actor, args.username)
        print(f"Sign-in of {args.username} unlocked.")
        return 0
    if args.staff_command == "role":
        with _signed_in(ctx, args.as_user) as actor:
            change = service.change_role(actor, args.username, StaffRole[args.role.replace("-", "_")])
        print(f"{change.username} ({change.full_name}) is now {change.new_role.label} (was {change.old_role.label})"
              + (f"; {change.sessions_ended} open session(s) ended, to sign in again." if change.sessions_ended
                 else "."))
        return 0
    role = StaffRole[args.role.replace("-", "_")]
    if not service.has_staff():
        if role is not StaffRole.administrator:
            print("This database has no staff yet: the first staff member must be an administrator "
                  "(--role administrator).", file=sys.stderr)
            return 2
        enrollment = service.add_first_administrator(args.username, args.name, _new_password(args.username))
    else:
        if not args.as_user:
            print("This database already has staff: sign in as an administrator with --as USERNAME.",
                  file=sys.stderr)
            return 2
        with _signed_in(ctx, args.as_user) as actor:
            enrollment = service.add(actor, args.username, args.name, role, _new_password(args.username))
    print(f"Added {enrollment.username} ({enrollment.full_name}) as {enrollment.role.label}.")
    print("Add this to their authenticator app (scan the QR code or type the secret); it is shown only once:")
    print(f"  {enrollment.otpauth_uri}")
    print(f"  secret: {enrollment.totp_secret}")
    if sys.stdout.isatty():
        import segno

        segno.make(enrollment.otpauth_uri, error="m").terminal(compact=True)
    return 0


def cmd_key_rotate(args) -> int:
    from console.models.key_rotation import KeyRotation
    from console.models.keys import default_store

    ctx = open_context(database_url(args.database))
    store = default_store()
    with _signed_in(ctx, args.as_user) as actor:
        result = KeyRotation(ctx).rotate(actor, store)
    retired = ", ".join(result.retired) or "none"
    print(f"Master key rotated: new key {result.new_key_id} in {store.describe()}; {result.devices:,} device seeds "
          f"and {result.staff:,} staff secrets re-sealed; key {retired} retired (nothing uses it). Desks that "
          f"share this key store already use the new key; give every other desk on this database the new key "
          f"(docs/trust.md, Keys).")
    return 0


def _phase_bar(phase: str, done: int, total: int) -> None:
    sys.stderr.write(f"{phase:<9}")
    _progress_bar(done, total)


def cmd_import(args) -> int:
    from console.models.importing import ImportService

    readable_input(args.file)  # before the password is asked for
    ctx = open_context(database_url(args.database))
    service = ImportService(ctx)
    with _signed_in(ctx, args.as_user) as actor:
        return _import_as(actor, service, ctx, args)


def _import_as(actor, service, ctx, args) -> int:
    from console.models.importing import ImportRefused

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
    from console.models.exporting import ExportService

    writable_output(args.file)  # before the password is asked for
    ctx = open_context(database_url(args.database))
    with _signed_in(ctx, args.as_user) as actor:
        result = ExportService(ctx).export(actor, args.kind, args.file, _progress_bar)
    print(f"Exported {result.rows:,} {args.kind} to {result.path}")
    return 0


def cmd_account_close(args) -> int:
    from console.models.accounts import AccountService
    from console.models.charges import ChargeService, money

    ctx = open_context(database_url(args.database))
    with _signed_in(ctx, args.as_user) as actor:
        result = AccountService(ctx).close(actor, ChargeService(ctx).account_id_for(args.number),
                                           force_reason=args.force_reason)
    print(f"Closed {result.account_number}: {result.users_closed} user(s) closed, {result.devices_ended} device(s) "
          f"ended, {result.charged} device(s) charged {money(result.charged_cents)}, "
          f"{result.reserves_released} reserve(s) released")
    return 0


def cmd_report(args) -> int:
    import os

    from console.models.reporting import ReportService

    writable_output(args.file)  # before the password is asked for
    ctx = open_context(database_url(args.database))
    render = None
    if args.file.lower().endswith(".pdf"):
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # charts are drawn without a screen
        from PySide6.QtWidgets import QApplication

        from console.views.report_document import render_pdf

        app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 - QtCharts needs one
        render = render_pdf
    with _signed_in(ctx, args.as_user) as actor:
        result = ReportService(ctx).produce(actor, args.month, args.file, render)
    print(f"Wrote the monthly report {args.month} to {result.path} (sha256 {result.sha256}); "
          f"audit entry {result.audit_entry_id}")
    return 0


def cmd_upgrade(args) -> int:
    from console.models.schema import current_revision

    ctx = open_context(database_url(args.database))
    print(f"{ctx.db.display_name} is at schema revision {current_revision(ctx.db)}")
    return 0


def cmd_db_grant(args) -> int:
    from console.models.db import Database
    from console.models.db_roles import grant_console_role
    from console.models.keys import default_store, unlock_box

    db = Database(database_url(args.database))
    box = None if db.is_sqlite else unlock_box(db, default_store())
    for statement in grant_console_role(db, args.role, box):
        print(statement + ";")
    print(f"{args.role} now holds the console's privileges on {db.display_name}.")
    return 0


def cmd_audit_verify(args) -> int:
    from console.models.audit_check import verify_database
    from console.models.db import Database

    # Verification needs neither the master key nor a schema upgrade: an auditor's machine can run it.
    # Exit 0 intact, 1 tampered (the chain names the entry), 2 unreadable (damaged file, not a console database).
    db = Database(database_url(args.database))
    started = time.perf_counter()
    result = verify_database(db)
    seconds = time.perf_counter() - started
    if result.ok:
        print(f"Audit trail intact: {result.count:,} entries, head {result.head_hash} "
              f"({seconds:.1f} s)")
        return 0
    print(f"Audit trail BROKEN: {result.problem}. {result.count:,} entries verified before it "
          f"(last good hash {result.head_hash}).", file=sys.stderr)
    return 1


def cmd_doctor(args) -> int:
    from console import doctor

    return doctor.run(database_url(args.database))


def cmd_run(args) -> int:
    from console.gui import run_gui

    return run_gui(database_url(args.database), demo_if_empty=not getattr(args, "no_demo", False))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log_path = setup_logging()
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("Stopped; what was committed before stays, nothing half-written.", file=sys.stderr)
        return 130
    except Exception as exc:  # a person reads one sentence; the detail goes to the log
        from console.models.errors import ConsoleError
        from console.models.faults import explain

        if isinstance(exc, ConsoleError):  # the console's own refusal, already written for a person
            print(str(exc), file=sys.stderr)
            return 2
        logging.getLogger("sls_console").exception("sls-console %s failed", args.command or "run")
        print(f"{explain(exc, _url_for_messages(args))} {where_details_are(log_path)}", file=sys.stderr)
        return 2


def _url_for_messages(args) -> str | None:
    try:
        return database_url(args.database)
    except Exception:  # the default data folder itself may be the fault
        return args.database


def _dispatch(args) -> int:
    command = args.command or "run"
    if command == "run":
        return cmd_run(args)
    if command == "demo":
        return cmd_demo(args)
    if command == "upgrade":
        return cmd_upgrade(args)
    if command == "doctor":
        return cmd_doctor(args)
    if command == "db" and args.db_command == "grant":
        return cmd_db_grant(args)
    if command == "import":
        return cmd_import(args)
    if command == "export":
        return cmd_export(args)
    if command == "report":
        return cmd_report(args)
    if command == "audit" and args.audit_command == "verify":
        return cmd_audit_verify(args)
    if command == "staff":
        return cmd_staff(args)
    if command == "account" and args.account_command == "close":
        return cmd_account_close(args)
    if command == "key" and args.key_command == "rotate":
        return cmd_key_rotate(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
