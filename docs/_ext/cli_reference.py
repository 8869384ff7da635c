"""``.. cli-reference::``: the ``physml`` command's help, generated from its parser, one
section per command (so the reference cannot drift from the command line)."""

import argparse
import os

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def _commands(parser, words=("physml",)):
    """Yield (the words of a command, its parser), the top-level parser first."""
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*words, name))


class CLIReference(SphinxDirective):
    has_content = False

    def run(self):
        from physml.cli import _parser

        os.environ["COLUMNS"] = "88"
        found = []
        for words, parser in _commands(_parser()):
            title = " ".join(words)
            section = nodes.section(ids=[nodes.make_id(title)])
            section += nodes.title(text=title)
            text = parser.format_help()
            section += nodes.literal_block(text, text)
            found.append(section)
        return found


def setup(app):
    app.add_directive("cli-reference", CLIReference)
    return {"parallel_read_safe": True}
