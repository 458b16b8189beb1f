"""Delivery: everything with side effects. Core code hands it Alerts; it hands back outcomes."""
