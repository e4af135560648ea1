"""Completion layer: cursor context, tree-sitter syntax, prompts, stop rules. Never imports torch."""
