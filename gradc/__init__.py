"""gradc: turn math expressions into standalone NumPy gradient code."""
__version__ = "0.1.0"

from gradc.errors import DifferentiationError, GradcError, ParseError, ShapeError, UnknownNameError  # noqa: E402
from gradc.load import CompiledFunction, compile  # noqa: E402
from gradc.functions import gradient  # noqa: E402
from gradc.descent import Result, minimize  # noqa: E402

__all__ = ["compile", "gradient", "minimize", "Result", "CompiledFunction", "GradcError", "ParseError",
           "ShapeError", "UnknownNameError", "DifferentiationError"]
