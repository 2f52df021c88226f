"""The in-app help: staff topics in a list with search, shown in a text browser that follows links."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from console.help_topics import Topic, load_topics, search
from console.models.settings import Figures
from console.views.conventions import keyboard_conventions


class HelpBrowser(QDialog):
    """A non-modal help window; `figures` fills the current validity days, fees and limits into the pages."""

    def __init__(self, figures: Figures | None = None, parent: QWidget | None = None, *,
                 reading: bool = False) -> None:
        """`reading`: the figures as set are being read (off the GUI thread); the pages show once they are given
        to show_figures."""
        super().__init__(parent)
        self.setObjectName("helpBrowser")
        self.setWindowTitle("SLS Console help")
        self.setModal(False)
        self.loading = reading
        self.topics = load_topics(figures)
        self._by_key = {t.key: t for t in self.topics}
        self.current_key: str | None = None

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("helpSearch")
        self.search_edit.setPlaceholderText("Search help (e.g. passcode, return, share)")
        self.search_edit.setAccessibleName("Search the help topics")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self.apply_search)
        self.search_edit.returnPressed.connect(self._open_first)

        self.topic_list = QListWidget()
        self.topic_list.setObjectName("helpTopics")
        self.topic_list.setAccessibleName("Help topics")
        self.topic_list.currentItemChanged.connect(self._on_topic_changed)

        self.browser = QTextBrowser()
        self.browser.setObjectName("helpText")
        self.browser.setAccessibleName("Help topic text")
        self.browser.setOpenLinks(False)  # topic links are ours; web links open in the system browser
        self.browser.anchorClicked.connect(self._on_link)

        self.no_match = QLabel("No topic matches; try fewer or other words.")
        self.no_match.setObjectName("helpNoMatch")
        self.no_match.setVisible(False)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel("&Search:")
        label.setBuddy(self.search_edit)
        row = QHBoxLayout()
        row.addWidget(label)
        row.addWidget(self.search_edit)
        left_layout.addLayout(row)
        left_layout.addWidget(self.topic_list)
        left_layout.addWidget(self.no_match)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([260, 620])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self._focus_search)
        QShortcut(QKeySequence.StandardKey.Back, self, activated=self.browser.backward)
        self.resize(900, 600)
        keyboard_conventions(self)
        self._fill_list(self.topics)
        self.show_topic(self.topics[0].key)

    def show_figures(self, figures: Figures) -> None:
        """The pages with the figures as set, the topic shown kept."""
        self.loading = False
        self.topics = load_topics(figures)
        self._by_key = {t.key: t for t in self.topics}
        key = self.current_key
        self.apply_search()
        if key is not None:
            self.show_topic(key)

    def _fill_list(self, topics: list[Topic]) -> None:
        self.topic_list.blockSignals(True)
        self.topic_list.clear()
        for t in topics:
            item = QListWidgetItem(t.title)
            item.setData(Qt.ItemDataRole.UserRole, t.key)
            self.topic_list.addItem(item)
        self.topic_list.blockSignals(False)
        self.no_match.setVisible(not topics)

    def visible_topics(self) -> list[str]:
        return [self.topic_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.topic_list.count())]

    def apply_search(self, text: str | None = None) -> None:
        text = self.search_edit.text() if text is None else text
        hits = search(self.topics, text)
        self._fill_list(hits)
        if hits and self.current_key not in {t.key for t in hits}:
            self.show_topic(hits[0].key)
        else:
            self._select_in_list(self.current_key)
        self._highlight(text)

    def show_topic(self, key: str) -> None:
        topic = self._by_key.get(key)
        if topic is None:
            return
        self.current_key = key
        self.browser.setHtml("<p>Reading the figures as set…</p>" if self.loading else topic.html)
        self._select_in_list(key)
        self._highlight(self.search_edit.text())

    def _select_in_list(self, key: str | None) -> None:
        for i in range(self.topic_list.count()):
            if self.topic_list.item(i).data(Qt.ItemDataRole.UserRole) == key:
                self.topic_list.blockSignals(True)
                self.topic_list.setCurrentRow(i)
                self.topic_list.blockSignals(False)
                return

    def _highlight(self, text: str) -> None:
        words = text.split()
        if words:
            self.browser.moveCursor(self.browser.textCursor().MoveOperation.Start)
            self.browser.find(words[0])

    def _on_topic_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None:
            self.show_topic(current.data(Qt.ItemDataRole.UserRole))

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
            return
        key = url.path().rsplit("/", 1)[-1].removesuffix(".html")
        self.show_topic(key)

    def _open_first(self) -> None:
        if self.topic_list.count():
            self.show_topic(self.topic_list.item(0).data(Qt.ItemDataRole.UserRole))
            self.browser.setFocus()

    def _focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()
