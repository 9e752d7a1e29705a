"""Event handlers written as plain module functions, their context (store, components, ...) bound for gradio."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterable, NoReturn

import gradio as gr

from workbench.data.importers import Progress


def bind(fn: Callable, *context: Any) -> Callable:
    """`fn` with its first parameters bound to `context`, as a gradio event function.

    Unlike functools.partial, the result is a plain function that keeps fn's name, module and qualified name
    (gradio names an event's API endpoint after it; workbench.ui.guard checks roles by module and name) and
    shows fn's signature less the bound parameters (gradio reads it to pass keyword inputs and to inject
    gr.Request, gr.EventData and gr.Progress; the annotations resolve in fn's module).
    """
    signature = inspect.signature(fn)
    rest = list(signature.parameters.values())[len(context):]

    @functools.wraps(fn)
    def handler(*args: Any, **kwargs: Any) -> Any:
        return fn(*context, *args, **kwargs)

    handler.__signature__ = signature.replace(parameters=rest)
    return handler


def gr_progress(progress: Any) -> Progress:
    """A gr.Progress as the core's progress callback: (iterable, total, description) -> iterable."""
    def track(it: Iterable, total: int | None, desc: str) -> Iterable:
        return progress.tqdm(it, total=total, desc=desc)
    return track


def fail(e: Exception) -> NoReturn:
    """Show the core's error to the user (a message that stays until closed) and end the handler."""
    raise gr.Error(str(e), duration=None) from None
