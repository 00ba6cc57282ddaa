"""Which lines start inside a multi-line string or comment, for a file too long to lex
whole: what carries from one line to the next."""

from __future__ import annotations

import time

from seedbed.ui.review.carry import line_openers

PYTHON = '''\
x = "a \\""" b"  # not """ a string
def f():
    rb"""Doc
    line two
    """
    y = \'\'\'one
two\'\'\'
    z = "#" + \'"""\'
    return """
s = """never closed
more
'''


def test_python_docstrings_and_triple_quoted_strings_carry_their_opener() -> None:
    assert line_openers("m.py", PYTHON) == {
        4: 'rb"""',
        5: 'rb"""',
        7: "'''",
        10: '"""',  # the return's string, closed by the next quotes
    }
    assert line_openers("m.py", 's = f"""never closed\nmore\nto the end') == {
        2: 'f"""',
        3: 'f"""',
    }


def test_one_line_strings_and_comments_open_nothing() -> None:
    code = 'a = "\'\'\'"  # """\nb = \'"""\'\nc = f"{x}"  # /* not C\n'
    assert line_openers("m.py", code) == {}


def test_c_like_block_comments_and_template_strings() -> None:
    code = (
        'int a = 1; /* one\n two\n three */ char *s = "/* no";\n'
        "// /* no\n"
        "const t = `a\nb`;\n"
        "x = y / 2; /** doc\n * more */\n"
    )
    assert line_openers("a.ts", code) == {2: "/*", 3: "/*", 6: "`", 8: "/*"}


def test_a_language_not_known_here_has_no_openers() -> None:
    assert line_openers("notes.txt", '"""\nx\n"""\n') == {}


def test_a_big_file_is_scanned_quickly() -> None:
    code = "".join(f"value_{n} = compute({n})  # it's {n}\n" for n in range(100_000))
    code += 'def f():\n    """Doc\n    more\n    """\n'
    started = time.perf_counter()
    openers = line_openers("big.py", code)
    assert openers == {100_003: '"""', 100_004: '"""'}
    assert time.perf_counter() - started < 0.5  # about 40 ms for these 4 MB
