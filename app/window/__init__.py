"""The main window and its parts: actions, commands, queue, keys, status bar, training controller, settings."""
