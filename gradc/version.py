"""The version gradc writes into every module it generates."""
__version__ = "0.1.0"
