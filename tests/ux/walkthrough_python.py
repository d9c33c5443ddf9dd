"""walkthrough_python.py — the Python snippets of docs/walkthrough.md run as printed (from the top
of the source tree, on a small dataset featurized here in place of runs/quickstart/dataset.h5),
and an expression followed by a `# result` comment line really evaluates to that result."""
import ast
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uxdata import check, featurize, finish, scratch, top_srcdir  # noqa: E402

page = os.path.join(top_srcdir, "docs", "walkthrough.md")
blocks = re.findall(r"```python\n(.*?)```", open(page, encoding="utf-8").read(), re.S)
check(len(blocks) >= 1, "docs/walkthrough.md has %d python snippet(s)" % len(blocks))
with scratch() as tmp:
    data = featurize(["1CRN.cif", "1bpi.pdb"], tmp)
    os.chdir(top_srcdir)
    for n, code in enumerate(blocks, 1):
        code = code.replace("runs/quickstart/dataset.h5", data)
        lines = code.rstrip("\n").split("\n")
        expected = lines[-1][1:].strip() if lines[-1].startswith("#") else None
        body = lines[:-1] if expected is not None else lines
        scope = {}
        try:
            exec("\n".join(body[:-1]), scope)
            value = eval(body[-1], scope) if expected is not None else exec(body[-1], scope)
            check(True, "snippet %d runs" % n)
        except Exception as err:  # a failing snippet is the finding, whatever it raises
            check(False, "snippet %d raises %s: %s" % (n, type(err).__name__, err))
            continue
        if expected is not None:
            got = value
            check(got == ast.literal_eval(expected), "snippet %d evaluates to its comment: %r" % (n, got))
finish()
