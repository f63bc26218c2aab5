"""A sphinx-gallery image scraper for the figures grokbeyond's report functions return.

``grokbeyond.report.plot_*`` build ``matplotlib.figure.Figure`` objects directly, never
through pyplot (a page builder must not leak pyplot state), so sphinx-gallery's
matplotlib scraper, which saves pyplot's figures, does not see them. This one saves
every such figure bound to a name in the example's globals once, after the code block
that made it.
"""

from matplotlib.figure import Figure
from sphinx_gallery.scrapers import figure_rst

_seen = {}  # example file -> the figures already saved


def returned_figures(block, block_vars, gallery_conf, **kwargs):
    """Save the new pyplot-less Figures of the example's globals; return their reST."""
    seen = _seen.setdefault(block_vars["src_file"], [])
    paths = []
    for value in list(block_vars["example_globals"].values()):
        if not isinstance(value, Figure) or any(value is s for s in seen):
            continue
        seen.append(value)
        if value.canvas.manager is None:  # pyplot's figures are the matplotlib scraper's
            path = next(block_vars["image_path_iterator"])
            value.savefig(path)
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])
