"""gradc: turn math expressions into standalone NumPy gradient code."""
from gradc.api import CompiledFunction, compile, gradient
from gradc.errors import DifferentiationError, GradcError, ParseError, ShapeError, UnknownNameError
from gradc.optim.descent import Result, minimize
from gradc.shapes import Int
from gradc.version import __version__

__all__ = ["__version__", "compile", "gradient", "minimize", "Result", "CompiledFunction", "GradcError", "ParseError",
           "ShapeError", "UnknownNameError", "DifferentiationError", "Int"]
