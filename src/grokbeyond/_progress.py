"""Progress bars that behave in a terminal and in a notebook, with or without ipywidgets.

``tqdm.auto`` picks tqdm's widget bar in a Jupyter kernel, but without ipywidgets it warns
(``TqdmWarning: IProgress not found``) and falls back to the text bar, whose every refresh
is a new output saved in the notebook (hundreds of outputs for one fit). There, the text
bar is drawn instead into one notebook output updated in place (an IPython display
handle), which needs no ipywidgets; everywhere else ``tqdm.auto`` is used as it is.
"""

from __future__ import annotations

import importlib.util
import io
import sys

__all__ = ["progress_bar"]


def _notebook_without_widgets() -> bool:
    """Whether this is a Jupyter kernel (IPython's ``IPKernelApp``) lacking ipywidgets."""
    if "IPython" not in sys.modules:  # not imported: not a kernel
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return (shell is not None and "IPKernelApp" in getattr(shell, "config", {})
            and importlib.util.find_spec("ipywidgets") is None)


def progress_bar(**kwargs):
    """A tqdm progress bar (``tqdm.auto``'s arguments): tqdm's own in a terminal or in a
    notebook with ipywidgets; in a notebook without them, its text bar in one output
    updated in place."""
    if _notebook_without_widgets():
        return _display_bar_class()(**kwargs)
    from tqdm.auto import tqdm

    return tqdm(**kwargs)


def _display_bar_class():
    from IPython.display import DisplayHandle
    from tqdm.std import tqdm

    class DisplayBar(tqdm):
        """tqdm's text bar, shown in one notebook output that each refresh replaces."""

        def __init__(self, *args, **kwargs):
            self._handle, self._shown = DisplayHandle(), False
            kwargs.setdefault("file", io.StringIO())  # the text goes to the display, not to a stream
            kwargs.setdefault("ascii", False)  # the display shows unicode blocks (a StringIO would get '#')
            super().__init__(*args, **kwargs)

        def display(self, msg=None, pos=None):
            text = {"text/plain": self.__str__() if msg is None else msg}
            if self._shown:
                self._handle.update(text, raw=True)
            else:
                self._handle.display(text, raw=True)
                self._shown = True
            return True

    return DisplayBar
