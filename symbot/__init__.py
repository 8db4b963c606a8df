"""symbot: async framework for Symphony Messaging bots."""

__version__ = "0.1.0"
