"""States and kinds of the SLS domain, stored by name."""

from __future__ import annotations

import enum


class AccountKind(enum.Enum):
    individual = "individual"
    joint = "joint"
    organization = "organization"


class UserRole(enum.Enum):
    primary = "primary"
    secondary = "secondary"


class SlsState(enum.Enum):
    enrolled = "enrolled"
    opted_out = "opted_out"
    pending = "pending"
    # Enrolled, but the last device or temporary access ended (e.g. a temporary passcode expired): the user
    # cannot log in until staff issue temporary access or the client opts in again. On the work list.
    no_device = "no_device"
    # The account was closed: its users' holdings ended; nothing more can change for them.
    closed = "closed"

    @property
    def label(self) -> str:
        return SLS_STATE_LABELS[self]


SLS_STATE_LABELS = {
    SlsState.enrolled: "Enrolled",
    SlsState.opted_out: "Opted out",
    SlsState.pending: "Pending",
    SlsState.no_device: "No active device",
    SlsState.closed: "Account closed",
}


class Restriction(enum.Enum):
    """Restrictions carried by a user who logs in without a second factor."""

    no_pink_sheet_otcbb = "no_pink_sheet_otcbb"
    reduced_withdrawal_limits = "reduced_withdrawal_limits"
    ip_restriction_before_penny_stocks = "ip_restriction_before_penny_stocks"

    @property
    def label(self) -> str:
        return RESTRICTION_LABELS[self]

    @property
    def short_label(self) -> str:
        return RESTRICTION_SHORT_LABELS[self]


RESTRICTION_LABELS = {
    Restriction.no_pink_sheet_otcbb: "No Pink Sheet / OTCBB trading",
    Restriction.reduced_withdrawal_limits: "Reduced withdrawal limits",
    Restriction.ip_restriction_before_penny_stocks: "IP restriction required before penny-stock permissions",
}

RESTRICTION_SHORT_LABELS = {
    Restriction.no_pink_sheet_otcbb: "No Pink/OTCBB",
    Restriction.reduced_withdrawal_limits: "Lower limits",
    Restriction.ip_restriction_before_penny_stocks: "IP restriction",
}

# Every restriction an opted-out user carries; lifted together on enrollment.
OPT_OUT_RESTRICTIONS = tuple(Restriction)


class DeviceKind(enum.Enum):
    ib_key = "ib_key"
    dsc_plus = "dsc_plus"
    code_card = "code_card"
    online_code_card = "online_code_card"
    temporary_passcode = "temporary_passcode"
    sms = "sms"  # codes texted to the client's phone; temporary until another device is activated
    # Legacy hardware tokens: imported and held, never shipped new (domain-facts: fee 150.00 USD).
    gold = "gold"
    platinum = "platinum"

    @property
    def label(self) -> str:
        return DEVICE_KIND_LABELS[self]

    @property
    def is_hardware(self) -> bool:
        """Mailed to the client, held against a reserve, returned by mail."""
        return self in (DeviceKind.dsc_plus, DeviceKind.gold, DeviceKind.platinum)

    @property
    def is_legacy(self) -> bool:
        return self in (DeviceKind.gold, DeviceKind.platinum)

    @property
    def is_temporary(self) -> bool:
        return self in (DeviceKind.online_code_card, DeviceKind.temporary_passcode, DeviceKind.sms)

    @property
    def protection_rank(self) -> int:
        """Higher is more protective (docs/domain-facts.md: DSC+ highest, card lowest physical)."""
        return PROTECTION_RANK[self]


DEVICE_KIND_LABELS = {
    DeviceKind.ib_key: "IB Key",
    DeviceKind.dsc_plus: "DSC+",
    DeviceKind.code_card: "Security Code Card",
    DeviceKind.online_code_card: "Online Security Code Card",
    DeviceKind.temporary_passcode: "Temporary passcode",
    DeviceKind.sms: "SMS",
    DeviceKind.gold: "Gold card (legacy)",
    DeviceKind.platinum: "Platinum card (legacy)",
}

PROTECTION_RANK = {
    DeviceKind.temporary_passcode: 0,
    DeviceKind.sms: 1,  # "low" in domain-facts: below every card
    DeviceKind.online_code_card: 2,
    DeviceKind.code_card: 3,
    DeviceKind.ib_key: 4,
    DeviceKind.gold: 5,
    DeviceKind.platinum: 5,
    DeviceKind.dsc_plus: 6,
}


class ReturnReason(enum.Enum):
    """Why a device is expected back, or came back: what was reported, or why it is no longer needed."""

    lost = "lost"
    stolen = "stolen"
    damaged = "damaged"
    battery_failure = "battery_failure"  # the one reason a DSC+ is replaced free of charge
    no_longer_needed = "no_longer_needed"  # revoked by staff
    opted_out = "opted_out"  # its last user opted out of the Secure Login System
    account_closed = "account_closed"  # its account was closed while the card was still out

    @property
    def label(self) -> str:
        return "Battery failed" if self is ReturnReason.battery_failure else self.value.replace("_", " ").capitalize()


class DeviceState(enum.Enum):
    in_stock = "in_stock"
    shipped = "shipped"
    pending = "pending"  # issued, waiting for its first good code
    active = "active"
    lost = "lost"
    stolen = "stolen"
    damaged = "damaged"
    replaced = "replaced"
    return_pending = "return_pending"
    returned = "returned"
    expired = "expired"
    revoked = "revoked"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class ChargeKind(enum.Enum):
    replacement = "replacement"
    not_returned = "not_returned"


class ChargeStatus(enum.Enum):
    pending = "pending"
    billed = "billed"
    waived = "waived"


class SharingRequestState(enum.Enum):
    """A sharing request that waits for compliance approval, and its outcome."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"  # the opt-in it belonged to was cancelled or replaced

    @property
    def label(self) -> str:
        return self.value.capitalize()


class StaffRole(enum.Enum):
    help_desk = "help_desk"
    back_office = "back_office"
    auditor = "auditor"
    administrator = "administrator"
    compliance = "compliance"  # reviews sharing requests that wait for approval

    @property
    def label(self) -> str:
        separator = "-" if self is StaffRole.help_desk else " "
        return self.value.replace("_", separator).capitalize()
