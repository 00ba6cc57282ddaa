"""The sandbox around every agent: bubblewrap, its file policy, and its network proxy."""
