"""The diff reviewer: the file list, the diff view and the window around them."""
