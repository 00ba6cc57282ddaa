"""Seedbed's own MCP server, given to every run: its agent talks back (asks the user,
asks for a permission, adds a planned card, reports progress) through tools scoped to
its task."""
