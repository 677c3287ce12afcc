"""Agent Console: a keyboard-first terminal console for customer-support teams."""

__version__ = "0.1.0"
