"""The settings dialog: its pages and the form built from a pydantic model."""
