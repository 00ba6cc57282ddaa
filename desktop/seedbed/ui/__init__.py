"""The PySide6 window over the engine. The only package that imports Qt."""
