"""Shell completion scripts for `homogc completion bash|zsh|fish`, generated from the command line
parser itself, so that they always offer the commands and options homogc has.

    eval "$(homogc completion bash)"                      # ~/.bashrc
    eval "$(homogc completion zsh)"                       # ~/.zshrc (through bashcompinit)
    homogc completion fish > ~/.config/fish/completions/homogc.fish

Commands, subcommands and options complete by name; options with a fixed set of values complete
those values; everything else completes file names (specs, run directories).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field


@dataclass
class Command:
    """One command (a path of subcommand names; () is homogc itself) as completion sees it."""

    path: tuple[str, ...]
    help: str
    options: dict[str, str] = field(default_factory=dict)  # option -> help
    choices: dict[str, list[str]] = field(default_factory=dict)  # option -> its values
    subcommands: dict[str, str] = field(default_factory=dict)  # name -> help
    positional_choices: list[str] = field(default_factory=list)  # e.g. completion's shells


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), help: str = "") -> list[Command]:
    """Every command of the parser, homogc itself first."""
    command = Command(path, help)
    found = [command]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                command.subcommands[name] = helps.get(name, "")
                found += commands(sub, (*path, name), helps.get(name, ""))
        elif action.option_strings:
            for option in action.option_strings:
                if option.startswith("--"):
                    command.options[option] = "" if action.help == argparse.SUPPRESS else action.help or ""
                    if action.choices:
                        command.choices[option] = [str(c) for c in action.choices]
        elif action.choices:
            command.positional_choices = [str(c) for c in action.choices]
    return found


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    found = commands(parser)
    if shell == "bash":
        return _bash(found)
    if shell == "zsh":
        return "# homogc completion for zsh, through bash's completion\n" + (
            "autoload -U +X bashcompinit && bashcompinit\n" + _bash(found)
        )
    if shell == "fish":
        return _fish(found)
    raise ValueError(f"no completion for the shell '{shell}'")


def _bash(found: list[Command]) -> str:
    names = sorted({name for command in found for name in command.subcommands})
    lines = [
        '# homogc completion for bash: eval "$(homogc completion bash)"',
        "_homogc() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" key="" word i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        case "${key:+$key }$word" in',
    ]
    paths = [" ".join(c.path) for c in found if c.path]
    lines.append(f'            {"|".join(_quote(p) for p in paths)}) key="${{key:+$key }}$word" ;;')
    lines += ["        esac", "    done", '    case "$key:$prev" in']
    for command in found:
        for option, values in command.choices.items():
            lines.append(
                f"        {_quote(' '.join(command.path) + ':' + option)}) "
                f'COMPREPLY=($(compgen -W "{" ".join(values)}" -- "$cur")); return ;;'
            )
    lines += ["    esac", '    case "$key" in']
    for command in found:
        words = [*command.subcommands, *command.positional_choices]
        options = sorted(command.options)
        lines.append(
            f"        {_quote(' '.join(command.path))}) "
            f'opts="{" ".join(options)}"; words="{" ".join(words)}" ;;'
        )
    lines += [
        "    esac",
        '    if [[ "$cur" == -* ]]; then',
        '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
        '    elif [[ -n "$words" ]]; then',
        '        COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        "    else",
        '        COMPREPLY=($(compgen -f -- "$cur"))',
        "    fi",
        "}",
        "complete -o filenames -F _homogc homogc",
        f"# commands: {' '.join(names)}",
    ]
    return "\n".join(lines) + "\n"


def _fish(found: list[Command]) -> str:
    lines = ["# homogc completion for fish: homogc completion fish > ~/.config/fish/completions/homogc.fish"]
    for command in found:
        if not command.path:
            condition = "__fish_use_subcommand"
        else:
            condition = f"__fish_seen_subcommand_from {command.path[-1]}"
            if len(command.path) > 1:
                condition = f"__fish_seen_subcommand_from {command.path[0]}; and {condition}"
        for name, help in command.subcommands.items():
            lines.append(f"complete -c homogc -n {_quote(condition)} -f -a {name} -d {_quote(help)}")
        for value in command.positional_choices:
            lines.append(f"complete -c homogc -n {_quote(condition)} -f -a {value}")
        for option, help in command.options.items():
            values = command.choices.get(option)
            extra = f" -x -a {_quote(' '.join(values))}" if values else ""
            lines.append(
                f"complete -c homogc -n {_quote(condition)} -l {option[2:]}{extra} -d {_quote(help)}"
            )
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
