"""Report tables: rich in a terminal, aligned plain text in files and pipes."""

import io

from ragbench._table import TextTable, show

TABLE = TextTable(
    ["tenant", "questions", "ndcg@5"], [["acme-robotics", "8", "0.9123 [0.850,0.970]"], ["ALL", "8", "-"]]
)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_text_is_aligned_for_files():
    assert TABLE.plain().splitlines() == [
        "tenant         questions                ndcg@5",
        "-------------  ---------  --------------------",
        "acme-robotics          8  0.9123 [0.850,0.970]",
        "ALL                    8                     -",
    ]


def test_show_uses_rich_in_a_terminal_and_plain_text_in_a_pipe():
    pipe, terminal = io.StringIO(), Terminal()
    show(TABLE, file=pipe)
    assert pipe.getvalue() == TABLE.plain() + "\n"
    show(TABLE, file=terminal)
    drawn = terminal.getvalue()
    assert "│ acme-robotics │         8 │ 0.9123 [0.850,0.970] │" in drawn and "┏━" in drawn  # a rich box
    assert "-------------" not in drawn
