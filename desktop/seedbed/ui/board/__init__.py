"""The board: its columns, cards and moves, and the dialogs that make, edit and discard a task."""
