"""Text from the file system (file names, error messages naming files) made safe to print: a
hostile name can neither forge lines nor send control sequences to the terminal."""

from __future__ import annotations

__all__ = ["printable"]


def printable(text: str) -> str:
    """``text`` with every character that is not printable (newlines, escape codes, undecodable
    bytes) and the backslash written as a Python escape, so a hostile name can neither forge
    rows nor send control sequences to the terminal."""
    out = []
    for ch in text:
        if ch.isprintable() and ch != "\\":
            out.append(ch)
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # an undecodable byte (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)
