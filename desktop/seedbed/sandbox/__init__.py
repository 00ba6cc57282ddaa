"""The sandbox every agent run executes in: bubblewrap, its file policy, its network."""
