"""Sphinx configuration of the grokbeyond documentation.

Build with ``bash scripts/docs`` (warnings are errors). The API reference is generated
from the docstrings (autosummary + numpydoc) into ``api/generated/``; the gallery
(sphinx-gallery) runs ``examples/plot_*.py`` at build time into ``auto_examples/``.
"""

import os
import sys
from pathlib import Path

import grokbeyond
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docstrings import prepare_docstring

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _scrapers
# Examples run in the build's process: one torch thread, as the harness's workers use.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("PYTHONHASHSEED", "0")

project = "grokbeyond"
author = "The grokbeyond developers"
copyright = "The grokbeyond developers"
release = grokbeyond.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# -- autodoc / autosummary / numpydoc -------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
add_module_names = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- MyST -----------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- sphinx-gallery ---------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("grokbeyond",),
    "reference_url": {"grokbeyond": None},
    "backreferences_dir": "api/generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 0,
    "matplotlib_animations": False,
    "image_scrapers": ("_scrapers.returned_figures", "matplotlib"),
    "ignore_repr_types": r"matplotlib\.figure\.Figure",
    "reset_modules": ("matplotlib",),
}

# -- HTML -------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"grokbeyond {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document grokbeyond's own members only.

    Members inherited from scikit-learn (``get_params``, ``set_params``, ``score``, the
    metadata-routing ``set_*_request`` methods) are scikit-learn's API, documented there;
    their docstrings refer to labels of scikit-learn's own documentation.
    """
    if skip or what != "class":
        return skip
    module = getattr(obj, "__module__", None) or getattr(getattr(obj, "fget", None), "__module__", None)
    if name.startswith("set_") and name.endswith("_request"):
        return True
    if module is not None and not module.startswith("grokbeyond"):
        return True
    return None


def _constant_docstring(app, what, name, obj, options, lines):
    """A re-exported constant's doc comment, from the submodule that defines it.

    autodoc reads a constant's ``#:`` comment or docstring from the module it is
    documented in; a subpackage re-exports it from a submodule, so autodoc would show the
    value's type's docstring (``tuple``, ``int``) instead.
    """
    if what != "data" or not name.startswith("grokbeyond."):
        return
    package, _, attr = name.rpartition(".")
    for module_name in sorted(sys.modules):
        if module_name.startswith(package + ".") and getattr(sys.modules[module_name], attr, None) is obj:
            try:
                docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
            except PycodeError:
                continue
            if ("", attr) in docs:
                lines[:] = list(docs[("", attr)])
                return
    type_doc = prepare_docstring(type(obj).__doc__ or "")
    if [line.strip() for line in lines if line.strip()] == [line.strip() for line in type_doc if line.strip()]:
        lines[:] = []


#: The API pages and the packages whose ``__all__`` each lists.
API_PAGES = {name: f"api/{name.rpartition('.')[2]}.rst" for name in (
    "grokbeyond", "grokbeyond.datasets", "grokbeyond.models", "grokbeyond.grokking", "grokbeyond.theory",
    "grokbeyond.harness", "grokbeyond.report", "grokbeyond.reproduce", "grokbeyond.registry",
    "grokbeyond.exceptions")}


def _check_api_pages(app):
    """Warn (an error under -W) when a package exports a name its API page does not list."""
    import importlib
    import inspect
    import re

    logger = logging.getLogger(__name__)
    for package, page in API_PAGES.items():
        module = importlib.import_module(package)
        listed = set(re.findall(r"^ {3}~?(?:[\w.]+\.)?(\w+)$", (Path(app.srcdir) / page).read_text(), re.M))
        for name in module.__all__:
            if name != "__version__" and not inspect.ismodule(getattr(module, name)) and name not in listed:
                logger.warning(f"{package}.__all__ exports {name!r}, which {page} does not list")


def setup(app):
    app.connect("builder-inited", _check_api_pages)
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("autodoc-process-docstring", _constant_docstring, priority=100)
