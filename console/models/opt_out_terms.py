"""What an agent reads to a client who opts out: the risks, the restrictions, and the acknowledgement."""

from __future__ import annotations

from console.models.enums import OPT_OUT_RESTRICTIONS, Restriction
from console.models.limits import no_device_limit
from console.models.settings import Figures

RISKS = (
    "Anyone who learns the password can log in: there is no second check from a security device.",
    "The firm will not compensate losses if the account is compromised by hackers or identity thieves.",
)

# What each restriction means for the client, in words to read out (docs/domain-facts.md, "Opt-out").
RESTRICTION_EXPLANATIONS = {
    Restriction.no_pink_sheet_otcbb: "No trading of Pink Sheet (OTC Pink) or OTCBB stocks.",
    Restriction.reduced_withdrawal_limits: "Lower withdrawal limits: the limits for users without a "
                                           "security device apply.",
    Restriction.ip_restriction_before_penny_stocks: "An IP restriction must be set up before penny-stock trading "
                                                    "permissions can be activated.",
}
assert set(RESTRICTION_EXPLANATIONS) == set(OPT_OUT_RESTRICTIONS), "every opt-out restriction needs its words"

STATEMENT = ("I choose to log in without the Secure Login System. I understand that the firm will not compensate "
             "any loss if my account is compromised by hackers or identity thieves, and that while I am opted out "
             "the restrictions read to me apply to my username.")


def limits_sentence(fig: Figures) -> str:
    """The withdrawal limits of a user without a device, from the current settings."""
    return f"Withdrawals are limited to {no_device_limit(fig).text}."


def restriction_explanations(fig: Figures) -> dict[Restriction, str]:
    """RESTRICTION_EXPLANATIONS with the withdrawal limits stated in figures."""
    return {**RESTRICTION_EXPLANATIONS,
            Restriction.reduced_withdrawal_limits: "Lower withdrawal limits: " + limits_sentence(fig)}


def statement(fig: Figures) -> str:
    """The acknowledgement, stating the withdrawal limits that will apply."""
    return f"{STATEMENT} {limits_sentence(fig)}"
