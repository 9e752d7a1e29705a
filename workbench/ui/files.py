"""What the app serves over HTTP: exactly the image files the label store knows, the run plots, and Gradio's own
cache; never a folder, the label store, checkpoints or logs, and nothing from a dataset as a page.

Gradio 6 serves `/gradio_api/file=<path>` (and `/gradio_api/file/<path>`) for files under `allowed_paths` and
static paths, in place, with the type their name suggests (an .html beside the images would be a page on the
app's own origin); for its upload folder ($GRADIO_TEMP_DIR: uploads and the copies of files handlers return) and
`.gradio/cached_examples`. Folders are what Gradio understands, so image folders are still given to it (files
shown in place, fast); `FileGate`, in front of Gradio's routes, lets through only a path that is one of the
store's images (checked against the store, so images imported while the app runs are served too), a file in
plots_checkpoints/, or a file in Gradio's own folders; and it sends anything that is not a raster image as a
download, never shown inline.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import anyio
import gradio as gr
from gradio import utils as gradio_utils
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.workspace import Workspace

# Gradio's file routes (/gradio_api/file=..., /gradio_api/file/...; also the older unprefixed forms)
FILE_ROUTE = re.compile(r"^(?:/gradio_api)?/file[=/](.*)$", re.DOTALL)
# types a browser shows inline without running anything; everything else is sent as a download
RECHECK_S = 2.0  # a served image is checked against the store again after this long (a dataset may be deleted)
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif", "image/tiff",
                "image/x-icon", "image/vnd.microsoft.icon"}


def private_files(ws: Workspace) -> list[Path]:
    """Files and folders never served, even below an allowed folder: the label store with its journals, .env."""
    stores = {ws.db_file, *([ws.store.path.resolve()] if ws.store.path else [])}  # the default file, the store's own
    journals = [db.with_name(db.name + s) for db in sorted(stores) for s in ("-wal", "-shm", "-journal")]
    return [*sorted(stores), *journals, ws.home / ".env"]


def _holds_private(ws: Workspace, folder: Path) -> bool:
    """True for the working directory, a folder above it, datasets/ (the store) and anything in checkpoints/."""
    inside = (ws.db_file, ws.checkpoints, ws.home / ".env")
    return any(_is_in(p, folder) for p in inside) or _is_in(folder, ws.checkpoints)


def _is_in(path: Path, folder: Path) -> bool:
    return Path(os.path.abspath(path)).resolve().is_relative_to(Path(os.path.abspath(folder)).resolve())


def _served_folders(ws: Workspace, files: list[str]) -> list[str]:
    """The folders of `files` that Gradio may serve in place: not one holding private files (images kept there,
    imported in place from the working directory, are copied into Gradio's cache when a page shows them)."""
    return sorted(f for f in {os.path.dirname(p) for p in files} if not _holds_private(ws, Path(f)))


def image_folders(ws: Workspace) -> list[str]:
    """The folders holding the datasets' image files (originals, converted copies), minus any holding private files."""
    return _served_folders(ws, ws.store.image_paths())


class ServedFiles:
    """The files the app serves: each image file the store knows (by its exact path), files in plots_checkpoints/,
    and Gradio's upload and cache folders. Follows the store: images imported while the app runs are served, those
    of a deleted dataset are not (checked again on a miss, and on a hit older than `recheck_s` seconds)."""

    def __init__(self, ws: Workspace, recheck_s: float = RECHECK_S):
        self.ws, self.recheck_s = ws, recheck_s
        self.trees = [Path(os.path.abspath(p)) for p in
                      (ws.plots, gradio_utils.get_upload_folder(), gradio_utils.get_cache_folder())]
        self._lock = threading.Lock()
        self._images: frozenset[str] = frozenset()
        self._version: tuple[int, ...] | None = None
        self._checked = 0.0
        self._static: set[str] = set()
        self.follow_store()

    def follow_store(self) -> None:
        """Reload the image files if the store's images changed; their folders become Gradio static paths (shown
        in place), the run plots too."""
        with self._lock:
            self._checked = time.monotonic()
            version = self.ws.store.images_version()
            if version == self._version:
                return
            files = self.ws.store.image_paths()
            self._images = frozenset(os.path.abspath(p) for p in files)
            self._version = version
            new = [f for f in [str(self.ws.plots), *_served_folders(self.ws, files)] if f not in self._static]
            if new:
                gr.set_static_paths(new)
                self._static.update(new)

    def allows(self, requested: str) -> bool:
        """True if a file route may serve `requested` (as the route receives it; Gradio resolves it with
        os.path.abspath, relative to the working directory)."""
        if "://" in requested or "\x00" in requested:  # Gradio would fetch a URL for the client: never
            return False
        path = os.path.abspath(requested)
        if path in self._images:
            if time.monotonic() - self._checked < self.recheck_s:
                return True
            self.follow_store()
        elif any(_is_in(path, tree) and os.path.isfile(path) for tree in self.trees):
            return True
        else:
            self.follow_store()  # maybe imported a moment ago
        return path in self._images


class FileGate:
    """ASGI middleware in front of Gradio's routes: a file route serves only what `served` allows, and only raster
    images inline; each POST (an event) first brings `served` up to date with the store (its handler may show new
    images)."""

    def __init__(self, app: ASGIApp, served: ServedFiles):
        self.app, self.served = app, served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # off the event loop: a reload after a big import reads every image path
        if scope["method"] == "POST":  # an event (or upload) about to run: a handler may show newly imported images
            await anyio.to_thread.run_sync(self.served.follow_store)
            return await self.app(scope, receive, send)
        match = FILE_ROUTE.match(_route_path(scope))
        if match is None:
            return await self.app(scope, receive, send)
        if not await anyio.to_thread.run_sync(self.served.allows, match.group(1)):
            return await PlainTextResponse("Not a file this app serves.", status_code=403)(scope, receive, send)
        await self.app(scope, receive, _never_a_page(send))


def _route_path(scope: Scope) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _never_a_page(send: Send) -> Send:
    """`send`, with a response that is not a raster image turned into a download the browser never renders."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            if headers.get("content-type", "").split(";")[0].strip().lower() not in INLINE_TYPES:
                headers["content-type"] = "application/octet-stream"
                headers["content-disposition"] = "attachment"
            headers["x-content-type-options"] = "nosniff"
        await send(message)

    return sending


def serving_options(ws: Workspace) -> dict:
    """launch() arguments: image folders and run plots allowed (for Gradio), private files blocked, and the
    FileGate that narrows Gradio's file routes to exactly the files shown."""
    served = ServedFiles(ws)
    return {"allowed_paths": [str(ws.plots), *image_folders(ws)],
            "blocked_paths": [str(p) for p in private_files(ws)],
            "app_kwargs": {"middleware": [Middleware(FileGate, served=served)]}}
