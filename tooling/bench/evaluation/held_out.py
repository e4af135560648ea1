"""The `held-out` task set: single-line holes in the standard-library files the embedded
models never trained on (training.corpus's held-out split), one task per file.

Only files CPython compiles are used, so a completed file that does not compile is the
suggestion's doing. The hole is one whole line inside a function body holding one simple
statement (an assignment, a call, a return, …; not a docstring, not a line shared with a
comment or another statement), chosen by a generator seeded with (seed, set, path), and
cut as the single-line set cuts HumanEval lines: the indentation stays before the cursor.
These tasks have no tests: pass@1 and exact match do not apply to them.
"""

from __future__ import annotations

import ast
import random

from bench.evaluation.scoring import compiles
from bench.evaluation.tasks import EvalTask, Problem, span_task

HELD_OUT = "held-out"
_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While,
             ast.With, ast.AsyncWith, ast.Try, ast.Match, *([ast.TryStar] if hasattr(ast, "TryStar") else []))


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def hole_lines(text: str, tree: ast.Module) -> list[tuple[int, int]]:
    """(content start, content end) offsets of each line that may become a hole."""
    lines = text.split("\n")
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    found = set()
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if (isinstance(node, ast.stmt) and node is not function and not isinstance(node, _COMPOUND)
                    and not _is_docstring(node) and node.lineno == node.end_lineno):
                line = lines[node.lineno - 1]
                indent, body = line[:len(line) - len(line.lstrip())], line.strip()
                # The statement is the whole line (offsets are UTF-8 bytes).
                if (node.col_offset, node.end_col_offset) == (len(indent.encode()), len((indent + body).encode())):
                    content = starts[node.lineno - 1] + len(indent)
                    found.add((content, content + len(body)))
    return sorted(found)


def held_out_tasks(seed: int = 0, limit: int | None = None, files=None) -> list[EvalTask]:
    """One task per held-out file that compiles and has a line to mask, in path order;
    `limit` keeps the first N. `files`: training.corpus SourceFiles (default: the split)."""
    if files is None:
        from training import corpus
        files = corpus.load_split(held_out=True)
    tasks = []
    for source in files:
        candidates = hole_lines(source.text, ast.parse(source.text)) if compiles(source.text) else []
        if not candidates:
            continue
        start, end = random.Random(f"{seed}:{HELD_OUT}:{source.relative_path}").choice(candidates)
        tasks.append(span_task(HELD_OUT, Problem(source.relative_path, "", source.text, "", ""), start, end))
        if limit and len(tasks) == limit:
            break
    return tasks
