"""Help topics for staff: the HTML pages of resources/help, with the current service figures filled in."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
from dataclasses import dataclass

from console.models.settings import Figures
from console.resources import resource_path

# The order of the topic list; the first nine follow the client article's related links.
TOPIC_ORDER = ("sls-overview", "dsc-replacement", "security-devices", "sharing", "returns", "ib-key-activation",
               "multiple-two-factor", "charges", "temporary-passcode", "opting-back-in", "import-export",
               "dashboard", "limits-sms-cards")
TOKEN_RE = re.compile(r"\[\[([a-z0-9_]+)\]\]")


@dataclass(frozen=True)
class Topic:
    key: str
    title: str
    html: str
    text: str  # plain text, lower-cased, for search


def _usd(cents: int) -> str:
    return "no charge" if cents == 0 else f"{cents / 100:,.2f} USD"


def figure_values(figures: Figures) -> dict[str, str]:
    """The text each [[token]] of a help page becomes: every figure, and money written as money."""
    values = {f.name: str(getattr(figures, f.name)) for f in dataclasses.fields(figures)}
    values.update(dsc_plus_fee=_usd(figures.dsc_plus_fee_cents), code_card_fee=_usd(figures.code_card_fee_cents),
                  dsc_min_equity=f"{figures.dsc_min_equity_cents // 100:,} USD")
    # Withdrawal limits in whole USD, with separators; 0 is no limit.
    values.update({k: f"{int(v):,}" if int(v) else "no limit" for k, v in values.items() if k.startswith("limit_")})
    return values


def fill(page: str, values: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise KeyError(f"help page uses unknown figure [[{m.group(1)}]]")
        return html_lib.escape(values[m.group(1)])

    return TOKEN_RE.sub(sub, page)


def _plain(page: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page))).strip().lower()


def load_topics(figures: Figures | None = None) -> list[Topic]:
    values = figure_values(figures or Figures())
    topics = []
    for key in TOPIC_ORDER:
        page = fill(resource_path("help", f"{key}.html").read_text(encoding="utf-8"), values)
        m = re.search(r"<title>(.*?)</title>", page, re.S)
        topics.append(Topic(key, html_lib.unescape(m.group(1).strip()) if m else key, page, _plain(page)))
    return topics


def search(topics: list[Topic], query: str) -> list[Topic]:
    """Topics containing every word of `query` (case-insensitive); titles that match come first."""
    words = query.lower().split()
    if not words:
        return list(topics)
    hits = [t for t in topics if all(w in t.text for w in words)]
    return sorted(hits, key=lambda t: not all(w in t.title.lower() for w in words))
