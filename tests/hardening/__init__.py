"""Issue 15's attacks, one module per area, so the list stays visible:

- test_run_marker.py: run ids repeat across data dirs; recovery kills only its own
- test_git_hangs.py: git that never returns (hooks, filters), stop and shutdown meanwhile
- test_worktree_safety.py: stale index.lock, wrong repository, branch switches, nested
  repositories, repository config, keys in commits
- test_approve_faults.py: approves interrupted, racing, refused by git, many at once
- test_storage.py: full disks, broken or read-only databases, backups
- test_agent_output.py: endless or enormous model answers, hostile CLIs, keys in children
- test_input.py: numbers and names from the command line
"""
