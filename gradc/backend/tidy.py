"""Function records made tidy: no dead lines, no heading over nothing, each source segment commented once.

Differentiation hands over values under names of their role (`g_t3 = 0.5`, `g_p = g_t5`) that the lines
after them may never read: they read the value itself. Such a line is dead, and so is any line only dead
lines read; they go here, so that every assignment left is read later or returned.
"""
import re
from dataclasses import replace

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tidy(function):
    """`function` without dead lines and empty headings, each source comment on the last line carrying it."""
    live = _names(function.result)
    loops = []
    for basis in reversed(function.loops):  # the loops run after the body, in order
        after = _live_lines(basis.after, live)
        body = _live_lines(basis.body, live)
        live |= _names(basis.over)
        loops.append(replace(basis, before=_headed(_live_lines(basis.before, live)), body=_headed(body), after=after))
    body = _headed(_live_lines(function.body, live))
    return _comment_once(replace(function, body=body, loops=loops[::-1]))


def _names(text):
    """The identifiers in `text` (a superset of the names it reads: attributes and strings count too)."""
    return set(_NAME.findall(text))


def _live_lines(lines, live):
    """`lines` less the assignments whose names nothing after them reads (`live`: names read after `lines`,
    updated with the names `lines` read)."""
    kept = []
    for line in reversed(lines):
        if line.kind == "assign" and line.target not in live:
            if not line.keep:
                continue
            line = replace(line, kind="raw", target="")  # a check whose value nothing reads: the call alone
        if line.kind != "comment":
            live |= _names(line.expr)
            for statement in line.follow:
                live |= _names(statement)
        kept.append(line)
    return kept[::-1]


def _headed(lines):
    """`lines` less the headings that head no line (the next is another heading, or nothing), and the titles
    with no line at all after them."""
    kept, content, any_content = [], False, False
    for line in reversed(lines):
        if line.kind == "comment":
            if not (any_content if line.keep else content):
                continue
            content = False
        else:
            content = any_content = True
        kept.append(line)
    return kept[::-1]


def _comment_once(function):
    """Each source segment commented on the last line that computes part of it: the one that finishes it."""
    blocks = [function.body] + [block for basis in function.loops for block in (basis.before, basis.body, basis.after)]
    last = {}
    for position, line in enumerate(line for block in blocks for line in block):
        if line.spans:
            last[line.comment] = position
    position = 0
    tidied = []
    for block in blocks:
        lines = []
        for line in block:
            if line.spans and last[line.comment] != position:
                line = replace(line, comment="", spans=False)
            lines.append(line)
            position += 1
        tidied.append(lines)
    loops = [replace(basis, before=tidied[1 + 3 * k], body=tidied[2 + 3 * k], after=tidied[3 + 3 * k])
             for k, basis in enumerate(function.loops)]
    return replace(function, body=tidied[0], loops=loops)
