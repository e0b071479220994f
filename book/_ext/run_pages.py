"""A Sphinx extension of the book, for the run pages (the executed notebooks under book/runs/):

- each is built but kept out of the table of contents and the sidebar, which would otherwise list a hundred of
  them; a reader reaches a run's page from the runs index (grouped by preset and plan entry, with a filter) and
  from its chapter's link to it. Sphinx warns about a page no toctree holds unless it is an orphan; this marks
  run pages so, as the `orphan` field of a page's front matter would.
- a cell's whole DARTS text, which pages made by older code printed (a line of up to 3,700 characters), is shown
  as the cell's short name, `cell <hash>` (the tables' name for it); the executed notebook in the record keeps
  the text, and so does the run's `randnas.genotype` tag. Only the page's display changes.
- one Parameters cell per page, the values the job ran with (papermill's injected cell): the notebook's own
  defaults cell, which papermill needs to rerun the copy, is left out of the page (`randnas run` tags it so in
  new copies; copies made before are shown the same way here).
"""

from __future__ import annotations

import re

from randnas.spaces.common import cell_hash

RUN_PAGES = "book/runs/"
# a printed genotype: `Genotype(normal=[...], ...)` or `Genotype(recurrent=[...], concat=...)`, possibly cut
# short by a DataFrame's display ("...") before its closing parenthesis
GENOTYPE_TEXT = re.compile(r"Genotype\((?:normal|recurrent)=[^\n<]*")


def short_name(match: re.Match) -> str:
    """`cell <hash>`, the tables' name for the whole text (`cell_hash`); a text cut short has no hash."""
    text = match.group(0).rstrip()
    if text.endswith(")") and text.count("(") == text.count(")"):
        return f"cell {cell_hash(text)} (its DARTS text: the run's genotype tag)"
    return "cell (DARTS text shortened by the table; the run's genotype tag holds it)"


def mark_orphan_and_name_cells(app, doctree) -> None:
    """`doctree-read`: a run page is an orphan, and its printed genotypes read as cell names."""
    from docutils import nodes

    docname = app.env.docname
    if not docname.startswith(RUN_PAGES):
        return
    app.env.metadata[docname]["orphan"] = True
    cells = list(doctree.findall(lambda n: isinstance(n, nodes.container) and "cell" in n.get("classes", [])))
    if any("tag_injected-parameters" in cell["classes"] for cell in cells):
        for cell in cells:
            if "tag_parameters" in cell["classes"]:
                cell.parent.remove(cell)
    for node in list(doctree.findall(lambda n: isinstance(n, (nodes.literal_block, nodes.raw)))):
        text = node.astext()
        if not GENOTYPE_TEXT.search(text):
            continue
        named = GENOTYPE_TEXT.sub(short_name, text)
        replacement = node.deepcopy()
        replacement.children = []
        replacement += nodes.Text(named)
        if isinstance(node, nodes.literal_block):
            replacement.rawsource = named
        node.replace_self(replacement)


def setup(app):
    app.connect("doctree-read", mark_orphan_and_name_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
