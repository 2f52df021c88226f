"""Domain errors: each message says what happened, why, and what to do next."""

from __future__ import annotations


class ConsoleError(Exception):
    """Base of every error a person should read. The message is shown as it is."""


class NotFound(ConsoleError):
    pass


class InvalidInput(ConsoleError):
    """Bad input: nothing was changed."""


class RightsError(ConsoleError):
    """The user does not hold the account's security rights; names the one who does."""

    def __init__(self, username: str, account_number: str, holder_name: str | None, holder_username: str | None):
        self.username = username
        self.account_number = account_number
        self.holder_name = holder_name
        self.holder_username = holder_username
        if holder_username:
            msg = (f"{username} does not hold the security rights of {account_number}. "
                   f"Ask {holder_name} ({holder_username}), who does.")
        else:
            msg = (f"{username} does not hold the security rights of {account_number}, and the account "
                   f"has no primary user on record. Refer the client to account administration.")
        super().__init__(msg)


class RuleViolation(ConsoleError):
    """An SLS rule refuses the operation; nothing was changed."""


class VerificationFailed(ConsoleError):
    """A code was wrong, replayed or expired."""


class DeviceLocked(ConsoleError):
    pass


class PermissionDenied(ConsoleError):
    """The signed-in staff member's role does not allow the operation."""


class SessionEnded(PermissionDenied):
    """The sign-in a call was made under is no longer valid (signed out, idle, deactivated, locked, forged)."""


class ConcurrentChange(ConsoleError):
    """Another desk changed the same record first; reload and try again."""


class WriteConflict(ConcurrentChange):
    """The server stopped the transaction to break a deadlock or a serialization failure: nothing was written,
    and running the same request again is safe (db.retries_conflicts does, a few times, before saying so)."""


class DatabaseBusy(ConsoleError):
    """The database did not answer in time (another desk's long write, or a slow query); nothing changed."""


class DatabaseUnavailable(ConsoleError):
    """The database server cannot be reached (restarting, network); the console reconnects by itself."""


class SchemaTooNew(ConsoleError):
    """The database was upgraded by a newer console than this one; this one must not touch it."""


class DatabaseDamaged(ConsoleError):
    """SQLite's own integrity check finds the file malformed: what it holds can be neither trusted nor verified."""
