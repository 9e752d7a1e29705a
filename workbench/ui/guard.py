"""One gate for every event of the built app: each call is checked against workbench.access before it runs.

Gradio checks logins, not permissions, and every event (public, private or undocumented) can be called over
HTTP by fn_index. So after the app is built, every backend function in `demo.fns` is wrapped: the wrapper reads
the logged-in user of the request being served, refuses what the policy refuses, and puts the login into the
annotator-name input, so nobody labels under another name.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import gradio as gr
from gradio.block_function import BlockFunction
from gradio.context import LocalContext

from workbench.access import ANNOTATOR, LABEL_PAGE, Access, Operation

ANNOTATOR_INPUT = "wb-annotator"  # elem_id of the typed annotator name (Label tab)


def guard(demo: gr.Blocks, access: Access) -> int:
    """Check every event function of `demo` against `access`; returns how many were wrapped."""
    if not access.logins:
        return 0  # one local user: everything stays as it is
    n = 0
    for block_fn in demo.fns.values():
        if block_fn.fn is not None and not hasattr(block_fn.fn, "__wb_operation__"):
            block_fn.fn = _checked(block_fn, access)
            n += 1
    return n


def send_annotators_to_label_page(access: Access) -> None:
    """On the main page (call inside its Blocks): an annotator who opens it is taken to /label, their page."""
    if not access.logins:
        return
    role = gr.Textbox(visible=False)

    def landing(request: gr.Request) -> str:
        return access.role(getattr(request, "username", None))

    gr.on(None, landing, outputs=role, api_visibility="private").then(
        None, inputs=role, js=f"(r) => {{ if (r === '{ANNOTATOR}') window.location.replace('{LABEL_PAGE}'); }}")


def operation(block_fn: BlockFunction) -> Operation:
    """The policy's name for an event: page, module and handler ('build.<locals>.bulk.<locals>.run' -> 'bulk.run')."""
    fn = inspect.unwrap(block_fn.fn)
    parts = [p for p in getattr(fn, "__qualname__", block_fn.name or "").split(".") if p != "<locals>"]
    if len(parts) > 1 and parts[0] == "build":  # tabs define their handlers inside build(ctx)
        parts = parts[1:]
    return Operation(page=block_fn.page or "", module=getattr(fn, "__module__", "") or "", handler=".".join(parts))


def _login() -> str | None:
    """The user name of the request this thread serves (gradio sets it around every event function call)."""
    return getattr(LocalContext.request.get(None), "username", None)


def _checked(block_fn: BlockFunction, access: Access) -> Callable:
    fn = block_fn.fn
    op = operation(block_fn)
    names = block_fn.input_parameter_names or []
    name_params = [p for comp, p in zip(block_fn.inputs, names) if p and getattr(comp, "elem_id", None) == ANNOTATOR_INPUT]
    signature = inspect.signature(fn)

    def admit(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        user = _login()
        bound = signature.bind_partial(*args, **kwargs) if name_params or access.blind else None
        refusal = access.refusal(user, op, bound.arguments if bound else None)
        if refusal:
            raise gr.Error(refusal, print_exception=False)
        if not name_params:
            return args, kwargs
        for p in name_params:
            bound.arguments[p] = access.annotator_name(user, bound.arguments.get(p))
        return bound.args, bound.kwargs

    # the wrapper keeps fn's kind (gradio runs coroutines, generators and plain functions differently) and,
    # through functools.wraps, its signature: gr.Request, gr.Progress and EventData are still injected as before
    if inspect.isasyncgenfunction(fn):
        async def wrapper(*args: Any, **kwargs: Any):
            args, kwargs = admit(args, kwargs)
            async for item in fn(*args, **kwargs):
                yield item
    elif inspect.iscoroutinefunction(fn):
        async def wrapper(*args: Any, **kwargs: Any):
            args, kwargs = admit(args, kwargs)
            return await fn(*args, **kwargs)
    elif inspect.isgeneratorfunction(fn):
        def wrapper(*args: Any, **kwargs: Any):
            args, kwargs = admit(args, kwargs)
            return (yield from fn(*args, **kwargs))
    else:
        def wrapper(*args: Any, **kwargs: Any):
            args, kwargs = admit(args, kwargs)
            return fn(*args, **kwargs)
    wrapper = functools.wraps(fn)(wrapper)
    wrapper.__wb_operation__ = op
    return wrapper
