"""The application layer: what a user can do, as plain blocking Qt-free verbs, and their helpers."""
