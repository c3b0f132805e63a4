"""The composition root: configuration, the Application, the command line."""

__version__ = "0.1.0"
