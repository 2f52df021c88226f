"""The figures of docs/domain-facts.md as settings with defaults, stored in the database."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models.errors import InvalidInput


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: int
    label: str
    minimum: int
    maximum: int
    unit: str = ""


# Defaults come from docs/domain-facts.md; the source of each is named there.
MAX_LIMIT_USD = 2_000_000_000  # a limit above this is no limit: set 0

SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("online_card_validity_days", 21, "Online Security Code Card validity", 1, 365, "days"),
    SettingSpec("temp_passcode_full_access_days", 2, "Temporary passcode: full access", 1, 30, "days"),
    SettingSpec("temp_passcode_portal_days", 10, "Temporary passcode: portal-only after that", 0, 60, "days"),
    SettingSpec("dsc_activation_window_days", 14, "Mailed device (DSC+, printed card) activation window", 1, 90,
                "days"),
    SettingSpec("return_due_days", 30, "Device return due after replacement", 1, 365, "days"),
    SettingSpec("dsc_plus_fee_cents", 2000, "DSC+ replacement fee", 0, 1_000_000, "cents"),
    SettingSpec("legacy_device_fee_cents", 15000, "Gold / Platinum (legacy) replacement fee", 0, 1_000_000, "cents"),
    SettingSpec("code_card_fee_cents", 0, "Security Code Card replacement fee", 0, 1_000_000, "cents"),
    SettingSpec("lockout_failures", 5, "Consecutive failures before a device locks", 1, 100),
    SettingSpec("code_card_size", 100, "Values on a Security Code Card", 10, 999),
    SettingSpec("challenge_validity_minutes", 10, "A challenge stays answerable for", 1, 120, "minutes"),
    SettingSpec("totp_window_steps", 1, "IB Key codes accepted either side of now", 0, 3, "steps"),
    SettingSpec("dsc_min_equity_cents", 50_000_000, "DSC+ offered from account equity of", 0, 10**13, "cents"),
    SettingSpec("staff_signin_failures", 5, "Failed staff sign-ins before lock", 1, 100),
    SettingSpec("staff_lock_minutes", 15, "Staff sign-in lock", 1, 1440, "minutes"),
    SettingSpec("staff_idle_minutes", 30, "Staff session ends after idle", 1, 1440, "minutes"),
    # The firm's own choice: failed sign-ins (any username) per minute before sign-in pauses for everyone.
    SettingSpec("staff_signin_failures_per_minute", 20, "Failed staff sign-ins per minute (whole firm) before "
                "sign-in pauses", 1, 10_000),
    # Withdrawal limits by protection level, whole USD; 0 means no limit (DSC+).
    *(SettingSpec(f"limit_{row}_{period}_usd", default, f"Withdrawal limit {who}, per {label}"
                  + (" (0 = no limit)" if not default else ""), 0, MAX_LIMIT_USD, "USD")
      for row, who, day, five in (("none", "without a device (opted out)", 50_000, 100_000),
                                  ("sms", "with SMS", 200_000, 600_000),
                                  ("ib_key", "with IB Key", 1_000_000, 1_000_000),
                                  ("code_card", "with a Security Code Card", 200_000, 600_000),
                                  ("dsc_plus", "with DSC+", 0, 0),
                                  # Not in the published table; docs/sls-rules.md gives the decision.
                                  ("legacy", "with a Gold or Platinum card (legacy)", 1_000_000, 1_000_000))
      for period, label, default in (("day", "day", day), ("5days", "5 business days", five))),
    # The firm's own choice: code checks per minute the PostgreSQL vault answers (all desks together), a cap
    # on guessing through the desks' database role (docs/trust.md).
    SettingSpec("vault_checks_per_minute", 600, "Code checks per minute on the server (whole firm)", 10, 100_000),
    SettingSpec("sms_resend_minutes", 2, "SMS: a new code may be sent after", 1, 60, "minutes"),
    SettingSpec("sharing_review_across_entities", 1, "Sharing across entities waits for compliance approval "
                "(1 = yes, 0 = no)", 0, 1),
    # The firm's own choice, not the service's: how early the work list raises a card not yet activated.
    SettingSpec("activation_warning_days", 3, "Work list: shipped DSC+ due for activation within", 0, 90, "days"),
)
SPEC_BY_KEY = {s.key: s for s in SPECS}


@dataclass(frozen=True)
class Figures:
    """A snapshot of every setting, read once per operation."""

    online_card_validity_days: int = 21
    temp_passcode_full_access_days: int = 2
    temp_passcode_portal_days: int = 10
    dsc_activation_window_days: int = 14
    return_due_days: int = 30
    dsc_plus_fee_cents: int = 2000
    legacy_device_fee_cents: int = 15000
    code_card_fee_cents: int = 0
    lockout_failures: int = 5
    code_card_size: int = 100
    challenge_validity_minutes: int = 10
    totp_window_steps: int = 1
    dsc_min_equity_cents: int = 50_000_000
    staff_signin_failures: int = 5
    staff_lock_minutes: int = 15
    staff_idle_minutes: int = 30
    staff_signin_failures_per_minute: int = 20
    vault_checks_per_minute: int = 600
    limit_none_day_usd: int = 50_000
    limit_none_5days_usd: int = 100_000
    limit_sms_day_usd: int = 200_000
    limit_sms_5days_usd: int = 600_000
    limit_ib_key_day_usd: int = 1_000_000
    limit_ib_key_5days_usd: int = 1_000_000
    limit_code_card_day_usd: int = 200_000
    limit_code_card_5days_usd: int = 600_000
    limit_dsc_plus_day_usd: int = 0
    limit_dsc_plus_5days_usd: int = 0
    limit_legacy_day_usd: int = 1_000_000
    limit_legacy_5days_usd: int = 1_000_000
    sms_resend_minutes: int = 2
    sharing_review_across_entities: int = 1
    activation_warning_days: int = 3


assert {f.name for f in dataclasses.fields(Figures)} == set(SPEC_BY_KEY), "Figures and SPECS disagree"
assert all(getattr(Figures(), s.key) == s.default for s in SPECS), "Figures defaults and SPECS disagree"


def load_figures(session: Session) -> Figures:
    from console.models.entities import Setting

    stored = {row.key: row.value for row in session.scalars(select(Setting))}
    return Figures(**{spec.key: figure(spec.key, stored.get(spec.key)) for spec in SPECS})


def figure(key: str, raw: str | None) -> int:
    """A stored figure's value (its default when none or not a number is stored)."""
    return int(raw) if raw is not None and raw.lstrip("-").isdigit() else SPEC_BY_KEY[key].default


def validate(key: str, raw: str | int) -> int:
    spec = SPEC_BY_KEY.get(key)
    if spec is None:
        raise InvalidInput(f"There is no setting called {key!r}.")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidInput(f"{spec.label}: {raw!r} is not a whole number.") from None
    if not spec.minimum <= value <= spec.maximum:
        raise InvalidInput(f"{spec.label} must be between {spec.minimum} and {spec.maximum}"
                           f"{' ' + spec.unit if spec.unit else ''}; {value} was given.")
    return value
