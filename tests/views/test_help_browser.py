"""The help browser: topics matching the client article's links, search, links between topics, live figures."""

from __future__ import annotations

import dataclasses
import re

import pytest
from PySide6.QtCore import QUrl

from console.help_topics import TOKEN_RE, TOPIC_ORDER, load_topics
from console.models.settings import Figures
from console.resources import resource_path
from console.views.help_browser import HelpBrowser

ARTICLE_LINKS = ("sls-overview", "dsc-replacement", "security-devices", "sharing", "returns", "ib-key-activation",
                 "multiple-two-factor", "charges", "temporary-passcode")


@pytest.fixture
def browser(qtbot):
    b = HelpBrowser(Figures())
    qtbot.addWidget(b)
    b.show()
    return b


def test_topics_cover_every_related_link_of_the_client_article(browser):
    """Each related link of the opt-back-in article has a topic, listed in the article's order."""
    assert browser.visible_topics()[:len(ARTICLE_LINKS)] == list(ARTICLE_LINKS)
    assert browser.current_key == "sls-overview"
    assert "Secure Login System" in browser.browser.toPlainText()


def test_every_token_in_every_page_is_a_known_figure():
    """No help page refers to a figure that does not exist (load_topics would raise)."""
    topics = load_topics(Figures())
    assert len(topics) == len(TOPIC_ORDER)
    assert not any(TOKEN_RE.search(t.html) for t in topics)


def test_pages_show_the_current_figures_not_fixed_numbers(qtbot):
    """Changed settings show in the help: a passcode page with 3 full-access days says 3."""
    b = HelpBrowser(dataclasses.replace(Figures(), temp_passcode_full_access_days=3, dsc_plus_fee_cents=2500))
    qtbot.addWidget(b)
    b.show_topic("temporary-passcode")
    assert "for 3 days" in b.browser.toPlainText()
    b.show_topic("charges")
    assert "25.00 USD" in b.browser.toPlainText()


def test_search_filters_topics_and_opens_the_best_match(browser, qtbot):
    """Typing in the search box narrows the list to topics containing every word."""
    qtbot.keyClicks(browser.search_edit, "consecutive passcodes")
    assert browser.visible_topics() == ["temporary-passcode"]
    assert browser.current_key == "temporary-passcode"
    browser.search_edit.setText("zzzz nothing")
    assert browser.visible_topics() == []
    assert browser.no_match.isVisibleTo(browser)


def test_clicking_a_topic_and_following_a_link(browser, qtbot):
    """Choosing a topic in the list shows it; a link to another topic opens that topic."""
    browser.topic_list.setCurrentRow(browser.visible_topics().index("sharing"))
    assert "same person" in browser.browser.toPlainText()
    browser.show_topic("returns")
    browser.browser.anchorClicked.emit(QUrl("charges.html"))
    assert browser.current_key == "charges"
    assert browser.topic_list.currentItem().text() == "Charges and reserves"


def test_help_is_written_for_staff_and_matches_domain_facts():
    """Key facts from docs/domain-facts.md are in the pages: 21-day card, 2+10 days, no consecutive passcodes."""
    text = {t.key: t.text for t in load_topics(Figures())}
    assert "valid 21 days" in text["security-devices"]
    assert re.search(r"full access .* for 2 days", text["temporary-passcode"])
    assert "10 more days" in text["temporary-passcode"]
    assert "never issue consecutive temporary passcodes" in text["temporary-passcode"]
    assert "less secure device" in text["sharing"]
    assert resource_path("help", "sharing.html").exists()
