"""The schema, as an ordered list of migrations; PRAGMA user_version counts those applied."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    """
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        base_branch TEXT NOT NULL,
        setup_command TEXT NOT NULL DEFAULT '',
        check_command TEXT NOT NULL DEFAULT '',
        copy_globs TEXT NOT NULL DEFAULT '[]',
        diff_budget INTEGER NOT NULL DEFAULT 0,
        check_timeout REAL NOT NULL DEFAULT 1800,
        created_at REAL NOT NULL
    );
    CREATE TABLE profiles (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        config TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        title TEXT NOT NULL,
        prompt TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        phase TEXT NOT NULL,
        position INTEGER NOT NULL,
        profile_id INTEGER REFERENCES profiles(id),
        branch TEXT,
        worktree TEXT,
        base_branch TEXT NOT NULL,
        workspace_ready INTEGER NOT NULL DEFAULT 0,
        pending_kind TEXT NOT NULL DEFAULT 'implement',
        pending_message TEXT NOT NULL DEFAULT '',
        control TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX tasks_by_state ON tasks(state, position);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        number INTEGER NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        exit_code INTEGER,
        reason TEXT NOT NULL DEFAULT '',
        follow_up TEXT NOT NULL DEFAULT '',
        pid INTEGER,
        started_at REAL,
        ended_at REAL,
        commit_sha TEXT,
        check_status TEXT NOT NULL DEFAULT 'none',
        check_exit_code INTEGER,
        check_output_tail TEXT NOT NULL DEFAULT '',
        tokens_in INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        context_fill REAL NOT NULL DEFAULT 0,
        UNIQUE (task_id, number)
    );
    CREATE INDEX runs_by_status ON runs(status);
    CREATE TABLE events (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        seq INTEGER NOT NULL,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE comments (
        id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        path TEXT NOT NULL,
        line INTEGER,
        body TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT 'user',
        sent INTEGER NOT NULL DEFAULT 0,
        resolved INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    """,
    """
    ALTER TABLE runs ADD COLUMN conversation TEXT NOT NULL DEFAULT '';
    """,
    """
    ALTER TABLE tasks ADD COLUMN foreground INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN plan_first INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN diff_files INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN diff_insertions INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN diff_deletions INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE events ADD COLUMN row INTEGER;
    CREATE TEMP TABLE numbered (
        run_id INTEGER NOT NULL, seq INTEGER NOT NULL, r INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    INSERT INTO numbered
        SELECT run_id, seq, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY seq) - 1
        FROM events
        WHERE NOT (kind = 'text' AND COALESCE(json_extract(data, '$.delta'), 0));
    UPDATE events SET row = (
        SELECT r FROM numbered WHERE numbered.run_id = events.run_id AND numbered.seq = events.seq
    );
    DROP TABLE numbered;
    CREATE INDEX events_by_row ON events(run_id, row) WHERE row IS NOT NULL;
    """,
    """
    ALTER TABLE comments ADD COLUMN end_line INTEGER;
    ALTER TABLE comments ADD COLUMN quote TEXT NOT NULL DEFAULT '';
    ALTER TABLE comments ADD COLUMN sent_at REAL;
    ALTER TABLE comments ADD COLUMN updated_at REAL NOT NULL DEFAULT 0;
    CREATE INDEX comments_by_task ON comments(task_id, path, line);
    ALTER TABLE tasks ADD COLUMN reviewed_commit TEXT;
    """,
    """
    ALTER TABLE tasks ADD COLUMN merge_base_first INTEGER NOT NULL DEFAULT 0;
    """,
    """
    ALTER TABLE tasks ADD COLUMN plan TEXT NOT NULL DEFAULT '';
    """,
    """
    ALTER TABLE projects ADD COLUMN fix_rounds INTEGER NOT NULL DEFAULT 2;
    ALTER TABLE tasks ADD COLUMN fix_rounds_used INTEGER NOT NULL DEFAULT 0;
    """,
    """
    ALTER TABLE tasks ADD COLUMN after_ids TEXT NOT NULL DEFAULT '[]';
    """,
    """
    ALTER TABLE tasks ADD COLUMN budget_usd REAL NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN budget_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN time_limit_s REAL NOT NULL DEFAULT 0;
    ALTER TABLE projects ADD COLUMN budget_usd REAL NOT NULL DEFAULT 0;
    ALTER TABLE projects ADD COLUMN budget_tokens INTEGER NOT NULL DEFAULT 0;
    """,
    """
    ALTER TABLE tasks ADD COLUMN reviewer_profile_id INTEGER REFERENCES profiles(id);
    ALTER TABLE tasks ADD COLUMN review_verdict TEXT NOT NULL DEFAULT '';
    ALTER TABLE tasks ADD COLUMN auto_merge INTEGER NOT NULL DEFAULT 0;
    """,
    """
    ALTER TABLE tasks ADD COLUMN planner_profile_id INTEGER REFERENCES profiles(id);
    ALTER TABLE tasks ADD COLUMN auto_approve_plan INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tasks ADD COLUMN parent_id INTEGER REFERENCES tasks(id);
    """,
    """
    ALTER TABLE projects ADD COLUMN executor_profile_id INTEGER REFERENCES profiles(id);
    ALTER TABLE projects ADD COLUMN planner_profile_id INTEGER REFERENCES profiles(id);
    ALTER TABLE projects ADD COLUMN reviewer_profile_id INTEGER REFERENCES profiles(id);
    """,
    """
    ALTER TABLE tasks ADD COLUMN plan_approved INTEGER NOT NULL DEFAULT 0;
    """,
    """
    ALTER TABLE tasks ADD COLUMN merge_request TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN check_tree TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN check_base TEXT NOT NULL DEFAULT '';
    """,
    # Comment ids are never reused (AUTOINCREMENT): a deleted comment's id must not come
    # back as a new comment's, which a script or a note may still name. SQLite adds it
    # only to a new table, so the table is copied over (its ids kept).
    """
    CREATE TABLE comments_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        path TEXT NOT NULL,
        line INTEGER,
        body TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT 'user',
        sent INTEGER NOT NULL DEFAULT 0,
        resolved INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        end_line INTEGER,
        quote TEXT NOT NULL DEFAULT '',
        sent_at REAL,
        updated_at REAL NOT NULL DEFAULT 0
    );
    INSERT INTO comments_new (
        id, task_id, path, line, body, author, sent, resolved, created_at, end_line, quote,
        sent_at, updated_at
    )
    SELECT id, task_id, path, line, body, author, sent, resolved, created_at, end_line, quote,
        sent_at, updated_at
    FROM comments;
    DROP TABLE comments;
    ALTER TABLE comments_new RENAME TO comments;
    CREATE INDEX comments_by_task ON comments(task_id, path, line);
    """,
    # The highest task id a removed project took with it: a new task's id goes above it,
    # so a task id (and the branch and worktree named after it) is never given twice.
    """
    CREATE TABLE retired_ids (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL);
    """,
    """
    ALTER TABLE runs ADD COLUMN check_commands TEXT NOT NULL DEFAULT '';
    """,
    # The sandbox (issue 17): what a project's commands may reach and see.
    """
    ALTER TABLE projects ADD COLUMN check_network TEXT NOT NULL DEFAULT 'none';
    ALTER TABLE projects ADD COLUMN allowed_hosts TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE projects ADD COLUMN sandbox_paths TEXT NOT NULL DEFAULT '[]';
    """,
    # The variables a project's sandboxed commands keep though they look like secrets.
    """
    ALTER TABLE projects ADD COLUMN sandbox_env TEXT NOT NULL DEFAULT '[]';
    """,
    # Agents that talk back (issue 18): a run's progress line, the task whose agent added
    # a task, and whether a project's agents may start the tasks they add.
    """
    ALTER TABLE runs ADD COLUMN progress TEXT NOT NULL DEFAULT '';
    ALTER TABLE tasks ADD COLUMN origin_id INTEGER REFERENCES tasks(id);
    ALTER TABLE projects ADD COLUMN agents_start_tasks INTEGER NOT NULL DEFAULT 0;
    """,
    # The user's MCP servers (issue 18): names unique across projects, so a name alone
    # says which (`seedbed mcp remove NAME`); the rest of a server is its JSON config.
    """
    CREATE TABLE mcp_servers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        project_id INTEGER REFERENCES projects(id),
        config TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # What a run's agent asks its user (issue 18): asked, answered (by whom) or ended.
    """
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        run_id INTEGER NOT NULL REFERENCES runs(id),
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL,
        answer TEXT NOT NULL DEFAULT '',
        answered_by TEXT,
        reason TEXT NOT NULL DEFAULT '',
        asked_at REAL NOT NULL,
        ended_at REAL
    );
    CREATE INDEX questions_by_task ON questions(task_id, status);
    """,
]
