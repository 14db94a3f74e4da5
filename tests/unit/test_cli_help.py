"""Every ``unet-core`` command and option says what it does, and its default where it has one."""

from __future__ import annotations

import argparse

from unet_core.cli.entry import build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_and_option_is_described_with_its_default() -> None:
    commands = _commands()
    assert {"sample", "train", "predict", "evaluate", "info", "export", "import", "finetune"} <= set(commands)
    for name, parser in commands.items():
        text = parser.format_help()
        for action in parser._actions:
            if action.dest == "help":
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no description"
            if action.default not in (None, False, argparse.SUPPRESS) and not action.required:
                flag = action.option_strings[0]
                options = text[text.index("options:"):]
                start = options.index(f"\n  {flag}") + 1
                end = options.find("\n  -", start)
                entry = options[start : end if end > 0 else len(options)]
                assert "default" in entry, f"{name} {flag} does not say its default ({action.default!r})"
