"""Thin launcher: ``python main.py [DIR] [--model M] [--screenshot PNG]``."""

from app.main import main

if __name__ == "__main__":
    raise SystemExit(main())
