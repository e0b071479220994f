"""How a book page shows a `Table`: title, the scale it was obtained at, the table, the note, and the
MLflow run ids it was computed from (open them with `randnas ui`)."""

from __future__ import annotations

import html

from randnas.report.tables import Table


def table_html(table: Table) -> str:
    parts = [f'<p class="randnas-table-title"><b>{html.escape(table.title)}</b></p>',
             f'<p class="randnas-scale"><i>Scale: {html.escape(table.scale)}</i></p>']
    if table.empty:
        parts.append("<p>No runs of this kind in the record at this preset yet; the plan entry that makes them is listed "
                     "on the <i>Rerun and browse</i> page.</p>")
    else:
        # a table wider than the page scrolls inside its own box instead of being cut off
        parts.append('<div class="randnas-table-scroll" style="overflow-x: auto; max-width: 100%;">'
                     + table.frame.to_html(index=False, classes="randnas-table", na_rep="", escape=True) + "</div>")
    if table.note:
        parts.append(f"<p>{html.escape(table.note)}</p>")
    if table.run_ids:
        ids = " ".join(f"<code>{html.escape(run_id)}</code>" for run_id in table.run_ids)
        parts.append(f"<details><summary>MLflow runs ({len(table.run_ids)})</summary><p>{ids}</p></details>")
    return "\n".join(parts)


def show(table: Table) -> None:
    from IPython.display import HTML, display

    display(HTML(table_html(table)))
