"""The main window that puts the features together, its actions, header and attention queue."""
