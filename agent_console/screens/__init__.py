"""Screens: each owns the wiring between its widgets and the desk."""
