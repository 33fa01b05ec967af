"""crm-tui: a keyboard-first CRM for sales desks, in the terminal."""

__version__ = "0.1.0"
