"""incident-kit: a written incident process as data, and the documents it asks for."""

__version__ = "0.1.0"
