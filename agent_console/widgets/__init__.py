"""Widgets: views that receive plain data and post messages."""
