"""The errors gradc raises: one base class, with the source position where there is one."""


class GradcError(Exception):
    """Base class of every error gradc raises on bad input.

    Attributes:
        message: what went wrong, in one line.
        source: the user's source text, when the error points into it.
        line, column: 1-based line and 0-based column of the offending text.
        filename: the file holding `source`, for a Python function's error: `str()` reads `file:line: ...`.
    """

    filename = None

    def __init__(self, message, source=None, line=None, column=None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.column = column

    def source_line(self):
        """The offending source line, or None."""
        if self.source is None or self.line is None:
            return None
        lines = self.source.splitlines() or [""]
        return lines[self.line - 1] if 0 < self.line <= len(lines) else None

    def caret(self):
        """The offending line followed by a caret under the column, or an empty string."""
        text = self.source_line()
        if text is None or self.column is None:
            return ""
        return f"    {text}\n    {' ' * self.column}^"

    def __str__(self):
        """The headline, then the offending line with a caret under the column (as the command line shows it)."""
        caret = self.caret()
        return self.headline() + (f"\n{caret}" if caret else "")

    def headline(self):
        """The message with where it points, in one line: `message (line 2, column 5)`."""
        if self.filename is not None and self.line is not None:
            where = f" (column {self.column + 1})" if self.column is not None else ""
            return f"{self.filename}:{self.line}: {self.message}{where}"
        if self.line is None or self.source is None or "\n" not in self.source.strip():
            where = f" (column {self.column + 1})" if self.column is not None else ""
        else:
            where = f" (line {self.line}, column {self.column + 1})"
        return self.message + where


class ParseError(GradcError):
    """The source is not in gradc's language."""


class UnknownNameError(ParseError):
    """A call names a function gradc does not know."""


class ShapeError(GradcError):
    """Shapes do not agree, at compile time or when a compiled function is called."""


class DifferentiationError(GradcError):
    """An operation has no rule for the requested transformation."""
