"""How one event reads in the log list and in the detail pane (pure functions, no Qt)."""

from __future__ import annotations

import json
import time

import pytest

from seedbed.domain.events import (
    ErrorEvent,
    OutputEvent,
    RawEvent,
    StatusEvent,
    Stream,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageEvent,
)
from seedbed.ui.log.log_render import (
    DETAIL_CHARS,
    LINE_CHARS,
    Tone,
    first_line,
    render_detail,
    render_line,
    search_text,
    short_arguments,
)


def test_text_shows_its_first_line_and_how_many_follow() -> None:
    line = render_line(TextEvent(text="\nI will fix the parser.\nFirst, the tests.\n\nThen…"))
    assert line.text == "I will fix the parser. (+3 lines)"
    assert (line.marker, line.tone, line.mono) == ("•", Tone.NORMAL, False)
    assert render_line(TextEvent(text="one line")).text == "one line"
    assert render_line(TextEvent(text="a\nb")).text == "a (+1 line)"


def test_a_tool_call_is_its_name_and_short_arguments() -> None:
    call = ToolCallEvent(name="bash", arguments={"command": "pytest -q\necho done", "timeout": 60})
    line = render_line(call)
    assert line.text == "bash command=pytest -q (+1 line) timeout=60"
    assert (line.marker, line.tone) == ("→", Tone.TOOL)
    assert line.plain == "→ " + line.text
    # A lone well-known argument is shown bare.
    assert render_line(ToolCallEvent(name="read", arguments={"path": "src/a.py"})).text == (
        "read src/a.py"
    )
    # The telling argument comes first, a long value is cut, and the line stays short.
    short = short_arguments({"content": "x" * 5000, "path": "big.txt", "nested": {"a": [1] * 999}})
    assert short.startswith("path=big.txt content=xxx")
    assert len(short) <= 160 and "…" in short


def test_tool_results_and_errors() -> None:
    ok = render_line(ToolResultEvent(name="bash", output="3 passed\n", duration_ms=2500))
    assert (ok.marker, ok.text, ok.tone, ok.mono) == (
        "←",
        "bash: 3 passed · 2.5 s",
        Tone.MUTED,
        True,
    )
    failed = render_line(ToolResultEvent(name="bash", output="boom\ntrace", is_error=True))
    assert (failed.marker, failed.text, failed.tone) == ("✗", "bash: boom (+1 line)", Tone.ERROR)
    assert render_line(ToolResultEvent(name="noop")).text == "noop: (no output)"
    error = render_line(ErrorEvent(message="the model refused\ndetails"))
    assert (error.marker, error.text, error.tone) == (
        "!",
        "the model refused (+1 line)",
        Tone.ERROR,
    )
    assert error.plain == "error: the model refused (+1 line)"


@pytest.mark.parametrize(
    ("stream", "marker", "tone", "plain"),
    [
        (Stream.STDOUT, "", Tone.NORMAL, "ok\tdone"),
        (Stream.STDERR, "err", Tone.WARNING, "[stderr] ok\tdone"),
        (Stream.CHECK, "check", Tone.MUTED, "[check] ok\tdone"),
        (Stream.SETUP, "setup", Tone.MUTED, "[setup] ok\tdone"),
    ],
)
def test_output_is_monospace_and_marks_its_stream(
    stream: Stream, marker: str, tone: Tone, plain: str
) -> None:
    line = render_line(OutputEvent(stream=stream, line="ok\tdone"))
    assert (line.marker, line.tone, line.mono) == (marker, tone, True)
    # Tabs become spaces (a painter draws no tab stops); the copy keeps `task log`'s shape.
    assert line.text == "ok    done"
    assert line.plain == plain.replace("\t", "    ")
    cut = render_line(OutputEvent(stream=Stream.STDOUT, line="long", cut=12_345))
    assert cut.text == "long … [12,345 bytes cut]"


def test_usage_status_and_raw() -> None:
    usage = render_line(
        UsageEvent(tokens_in=12_345, tokens_out=678, cost_usd=0.0123, context_fill=0.42)
    )
    assert usage.text == "tokens 12,345 in, 678 out · $0.0123 · context 42%"
    assert usage.tone is Tone.MUTED
    # Past 60 % context quality drops: the row says so in the warning colour.
    assert render_line(UsageEvent(context_fill=0.75)).tone is Tone.WARNING
    status = render_line(StatusEvent(phase="checking", message="Running checks"))
    assert (status.marker, status.text, status.tone) == ("──", "Running checks", Tone.MUTED)
    assert render_line(StatusEvent(phase="checking")).text == "checking"
    raw = render_line(RawEvent(line="\x1b[31mred\x1b[0m"))
    assert (raw.marker, raw.tone, raw.text) == ("?", Tone.MUTED, " [31mred [0m")


def test_a_megabyte_line_stays_bounded() -> None:
    huge = "y" * 1_000_000
    started = time.perf_counter()
    events = [
        TextEvent(text=huge + "\n" + huge),
        OutputEvent(stream=Stream.STDOUT, line=huge),
        ToolCallEvent(name="write", arguments={"path": "a", "content": huge}),
        ToolResultEvent(name="read", output=huge),
        ErrorEvent(message=huge),
        RawEvent(line=huge),
    ]
    for event in events:
        line = render_line(event)
        assert len(line.text) <= LINE_CHARS + 40, event.kind
        assert len(line.plain) <= LINE_CHARS + 60
        detail = render_detail(event)
        assert len(detail) <= 2 * DETAIL_CHARS + 1000
        assert "more characters" in detail
    assert time.perf_counter() - started < 1.0
    assert first_line(huge + "\n" * 3) == "y" * (LINE_CHARS - 1) + "…"


def test_a_tool_calls_detail_shows_arguments_and_its_result() -> None:
    call = ToolCallEvent(
        call_id="c1", name="bash", arguments={"command": "ls", "env": {"A": "1"}}, ts=1.0
    )
    result = ToolResultEvent(call_id="c1", name="bash", output="a.py\nb.py", duration_ms=12)
    detail = render_detail(call, result)
    assert "tool call bash" in detail and "call id: c1" in detail
    assert json.dumps(call.arguments, indent=2) in detail
    assert "Result, 12 ms:\na.py\nb.py" in detail
    assert "Result: not yet" in render_detail(call)
    failed = render_detail(ToolResultEvent(name="bash", output="no", is_error=True))
    assert "Result (error):\nno" in failed
    assert render_detail(TextEvent(text="a\nb\nc")).endswith("a\nb\nc")
    assert "stderr" in render_detail(OutputEvent(stream=Stream.STDERR, line="x", cut=5))
    assert "context 42%" in render_detail(UsageEvent(context_fill=0.42))


def test_search_looks_at_what_an_event_says_not_its_keys() -> None:
    assert "line" not in search_text(OutputEvent(stream=Stream.STDOUT, line="hello"))
    assert "hello" in search_text(OutputEvent(stream=Stream.STDOUT, line="hello"))
    assert "pytest" in search_text(ToolCallEvent(name="bash", arguments={"command": "pytest"}))
    assert "boom" in search_text(ToolResultEvent(name="bash", output="boom"))
    assert "oops" in search_text(ErrorEvent(message="oops"))
