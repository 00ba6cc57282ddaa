"""Settings → MCP servers: the user's MCP servers, given to every agent's runs (as
`seedbed mcp add/list/set/remove` does)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from seedbed.core.checking import InvalidField
from seedbed.core.context import Done
from seedbed.core.mcp_servers import (
    add_mcp_server,
    list_mcp_servers,
    remove_mcp_server,
    update_mcp_server,
)
from seedbed.domain.mcp_servers import SavedMcpServer
from seedbed.ui.common.context import AppContext
from seedbed.ui.settings.model_form import ModelForm
from seedbed.ui.settings.settings_pages import ItemListModel, Page, Role

SERVER_FIELDS = [
    "name",
    "command",
    "args",
    "env",
    "env_keys",
    "url",
    "headers",
    "header_keys",
    "project_id",
    "enabled",
]
# Variables and headers are listed by name only: their values may be tokens.
NEW = SavedMcpServer.model_construct(name="", command="")
NO_MCP_CLIENT = "Aider has no MCP client: its runs are not given these servers."


def server_label(server: SavedMcpServer) -> str:
    off = "" if server.enabled else "  (off)"
    return f"{server.name}{off}"


class McpServersPage(Page):
    """The user's MCP servers: add, change, remove; each a stdio command or an HTTP URL,
    for every project or one, for every profile or those ticked. The list shows names
    and what each starts, never a variable's or a header's value. Signals: those of
    Page."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.model = ItemListModel(server_label, self)
        self.view = QListView(self)
        self.view.setModel(self.model)
        self.add_button = self.button("Add", self._on_add_clicked)
        self.remove_button = self.button("Remove…", self._on_remove_clicked)
        self.save_button = self.button("Save server", self._on_save_clicked)
        self.title = QLabel(self)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        projects = [(None, "every project")] + [(p.id, p.name) for p in context.catalog.projects]
        self.form = ModelForm(SavedMcpServer, SERVER_FIELDS, self, choices={"project_id": projects})
        self.profiles = QListWidget(self)
        for profile in context.catalog.profiles:
            item = QListWidgetItem(f"{profile.name} ({profile.kind.value})", self.profiles)
            item.setData(Role.ITEM, profile.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
        note = QLabel(f"Profiles (none ticked: every profile). {NO_MCP_CLIENT}", self)
        note.setWordWrap(True)
        self.editing: SavedMcpServer = NEW

        left = QVBoxLayout()
        left.addWidget(self.view, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)
        right = QVBoxLayout()
        for widget in (self.title, self.summary, self.form, note):
            right.addWidget(widget)
        right.addWidget(self.profiles, 1)
        for widget in (self.error, self.status):
            right.addWidget(widget)
        right.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 3)
        self.view.selectionModel().currentChanged.connect(self._on_view_current_changed)
        self.reload()

    def reload(self, select_id: int | None = None) -> None:
        """Read the servers again (from the engine), then select `select_id`."""

        def shown(servers: list[SavedMcpServer]) -> None:
            self.model.set_items(servers)
            wanted = select_id if select_id is not None else self.editing.id
            for row, server in enumerate(servers):
                if server.id == wanted or (wanted is None and row == 0):
                    self.view.setCurrentIndex(self.model.index(row))
                    return
            self.edit(NEW)

        self.context.host.call(list_mcp_servers, on_done=shown, on_error=self.fail, owner=self)

    def edit(self, server: SavedMcpServer) -> None:
        """Show `server` in the form (no id: a new one, saved by Save)."""
        self.editing = server
        self.title.setText(f"MCP server {server.name}" if server.id else "New MCP server")
        self.summary.setText(server.summary() if server.id else "")
        self.form.set_values(server)
        for row in range(self.profiles.count()):
            item = self.profiles.item(row)
            ticked = item.data(Role.ITEM) in server.profile_ids
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        self._set_busy(self.busy)
        self.error.show_message("")

    def ticked_profiles(self) -> list[int]:
        items = (self.profiles.item(row) for row in range(self.profiles.count()))
        return [
            int(item.data(Role.ITEM))
            for item in items
            if item.checkState() == Qt.CheckState.Checked
        ]

    @Slot(QModelIndex, QModelIndex)
    def _on_view_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        server = current.data(Role.ITEM)
        if isinstance(server, SavedMcpServer):
            self.edit(server)

    @Slot()
    def _on_add_clicked(self) -> None:
        self.view.clearSelection()
        self.edit(NEW)
        self.form.editor("name").setFocus()

    @Slot()
    def _on_save_clicked(self) -> None:
        base = {"id": self.editing.id, "profile_ids": self.ticked_profiles()}
        server = self.form.validate(base)
        if not isinstance(server, SavedMcpServer):
            return
        verb = update_mcp_server if server.id else add_mcp_server
        self.run(verb, server, on_done=self._saved)

    def _saved(self, done: Done[SavedMcpServer]) -> None:
        self.editing = done.value
        self.reload(select_id=done.value.id)
        self.status.setText(f"Saved {done.value.name}.")
        self.saved.emit()

    @Slot()
    def _on_remove_clicked(self) -> None:
        server = self.editing
        if not server.id:
            return
        self.confirm(f"Remove the MCP server {server.name!r}?", lambda: self._remove(server))

    def _remove(self, server: SavedMcpServer) -> None:
        def removed(_done: Done[SavedMcpServer]) -> None:
            self.editing = NEW
            self.reload()
            self.status.setText(f"Removed {server.name}.")
            self.saved.emit()

        self.run(remove_mcp_server, server.name, on_done=removed)

    def _set_busy(self, busy: bool) -> None:
        super()._set_busy(busy)
        self.remove_button.setEnabled(not busy and bool(self.editing.id))

    def fail(self, error: BaseException) -> None:
        super().fail(error)
        if isinstance(error, InvalidField):
            self.form.show_error(error.field, str(error))
