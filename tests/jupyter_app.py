"""A real Jupyter server (JupyterLab or Notebook 7) for browser tests, on 127.0.0.1 only.

``jupyter_server(app, root)`` starts ``python -m jupyter lab|notebook`` from this venv with a random
token on a free port, its config, data, runtime and settings folders inside ``root`` (nothing of
the user's is read or written), and one kernelspec, ``lmlens-live-test``, that runs this venv's
Python with the worktree (and ``tests/``) first on its path. It yields a ``Server`` and stops it in
``finally`` whatever happened: kernels shut down through the REST API, the server terminated, and
any process it started that is still alive killed (by pid, found when it was running).

``open_notebook(browser, server, path)`` opens a notebook in a fresh Chromium context where only
``127.0.0.1:<port>`` may load (every other request is aborted and recorded, as are console errors)::

    with jupyter_server("lab", tmp_path) as server, chromium() as b:
        with open_notebook(b, server, "views.ipynb") as (page, log):
            run_all(page, server)

Every wait is bounded; timeouts are generous because a busy 2-core machine runs JupyterLab,
Chromium and a kernel at once.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from browser import PageLog

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "lmlens-live-test"
#: Seconds: the server to answer, a kernel to start, a page to load, and cells to run.
START_TIMEOUT = 180
KERNEL_TIMEOUT = 180
PAGE_TIMEOUT = 120_000  # ms (Playwright)
#: JupyterLab settings for the test server: no news or update checks (no requests outside), the
#: light theme, widget state saved with the notebook (checked by the widget-state test), and every
#: cell painted: the default windowing ("contentVisibility") skips painting cells off screen, so
#: their text reads as "" and their views as not visible while outputs above still grow.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/apputils-extension/themes.jupyterlab-settings": {"theme": "JupyterLab Light"},
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
}


def skip_reason(app: str = "lab") -> str | None:
    """Why a real-server test cannot run here (None when it can)."""
    from browser import skip_reason as browser_reason

    reason = browser_reason()
    if reason:
        return reason
    module = {"lab": "jupyterlab", "notebook": "notebook"}[app]
    for name in (module, "ipykernel", "anywidget", "psutil"):
        try:
            __import__(name)
        except ImportError:
            return f"{name} is not installed (pip install -e '.[test,widget]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    app: str
    port: int
    token: str
    root: Path
    log_path: Path
    proc: subprocess.Popen
    pids: set[int] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """The page for a notebook (``lab/tree/x.ipynb`` or ``notebooks/x.ipynb``)."""
        # lab: ?reset starts from an empty workspace (no tab of an earlier notebook restored)
        page = f"lab/tree/{path}?reset&" if self.app == "lab" else f"notebooks/{path}?"
        return f"{self.base}/{page}token={self.token}"

    def api(self, path: str, method: str = "GET", body: dict | None = None, timeout: float = 30):
        req = urllib.request.Request(
            f"{self.base}/api/{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = r.read()
        return json.loads(data) if data else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def remember_children(self) -> None:
        """Note the pids of every process the server started (kernels), to end them later."""
        import psutil

        try:
            self.pids.update(p.pid for p in psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass

    def shutdown_kernels(self) -> None:
        try:
            for k in self.api("kernels", timeout=10):
                self.api(f"kernels/{k['id']}", method="DELETE", timeout=30)
        except Exception:  # the server may already be gone; the pids below still end
            pass


def write_kernelspec(jupyter_path: Path) -> None:
    """``lmlens-live-test``: this venv's Python, the worktree and tests/ first on its path."""
    spec = jupyter_path / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "lmlens live test", "language": "python",
        "env": {"PYTHONPATH": path, "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    }))


def notebook_json(cells: list[str]) -> dict:
    """An nbformat 4 notebook of code cells using the test kernel."""
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": KERNEL, "display_name": "lmlens live test",
                                    "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
                   "outputs": [], "source": src} for i, src in enumerate(cells)],
    }


def _wait_ready(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"jupyter {server.app} exited ({server.proc.returncode}):\n{server.log()[-3000:]}")
        try:
            server.api("status", timeout=5)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.5)
    raise TimeoutError(f"jupyter {server.app} did not answer in {START_TIMEOUT} s:\n{server.log()[-3000:]}")


def _stop(server: Server) -> None:
    server.remember_children()
    server.shutdown_kernels()
    server.remember_children()
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=30)
    import psutil

    for pid in sorted(server.pids):
        try:
            p = psutil.Process(pid)
            p.kill()
            p.wait(timeout=10)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            pass


@contextmanager
def jupyter_server(app: str, root: Path, *, settings: dict | None = None) -> Iterator[Server]:
    """Start ``jupyter lab`` or ``jupyter notebook`` serving ``root/work`` on 127.0.0.1."""
    if app not in ("lab", "notebook"):
        raise ValueError(f"app must be 'lab' or 'notebook', got {app!r}")
    root = Path(root)
    work = root / "work"
    for d in ("work", "config", "data", "runtime", "jupyter_path"):
        (root / d).mkdir(parents=True, exist_ok=True)
    write_kernelspec(root / "jupyter_path")
    user_settings = root / "config" / "lab" / "user-settings"
    for rel, value in {**SETTINGS, **(settings or {})}.items():
        f = user_settings / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_DATA_DIR": str(root / "data"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "JUPYTER_PATH": str(root / "jupyter_path"),
        "JUPYTERLAB_SETTINGS_DIR": str(user_settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "config" / "workspaces"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
    }
    env.pop("JUPYTER_PREFER_ENV_PATH", None)
    port, token = free_port(), secrets.token_hex(16)
    app_class = "LabApp" if app == "lab" else "JupyterNotebookApp"
    cmd = [
        sys.executable, "-m", "jupyter", app, "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
        f"--{app_class}.expose_app_in_browser=True",
        "--ServerApp.open_browser=False", "--LabApp.news_url=None" if app == "lab" else "",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" if app == "lab" else "",
        f"--KernelSpecManager.allowed_kernelspecs={KERNEL}",
        "--MappingKernelManager.default_kernel_name=" + KERNEL,
    ]
    cmd = [c for c in cmd if c]
    log_path = root / f"{app}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(app, port, token, work, log_path, proc)
    try:
        _wait_ready(server, time.monotonic() + START_TIMEOUT)
        yield server
    finally:
        _stop(server)


# ---- the page ----------------------------------------------------------------------------


@dataclass
class ServerPageLog(PageLog):
    """``PageLog`` (``requests``: those outside the server, aborted; console and page errors),
    plus the size of every websocket frame the page received (kernel messages)."""

    frames_received: list[int] = field(default_factory=list)


def is_local(url: str, port: int) -> bool:
    """Requests the page may make: the server itself, and the blob:/data: URLs that anywidget
    imports the widget's module from (no network involved)."""
    return (url.startswith((f"http://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/"))
            or url.startswith(("blob:", "data:", "about:")))


@contextmanager
def open_notebook(browser, server: Server, path: str, *, color_scheme: str = "light",
                  viewport: tuple[int, int] = (1280, 900)) -> Iterator[tuple[object, ServerPageLog]]:
    """Open ``path`` in ``server``'s front end in a fresh context; yield ``(page, log)``."""
    log = ServerPageLog()
    ctx = browser.new_context(color_scheme=color_scheme,
                              viewport={"width": viewport[0], "height": viewport[1]})
    ctx.set_default_timeout(PAGE_TIMEOUT)
    try:
        page = ctx.new_page()

        def route(r) -> None:
            if is_local(r.request.url, server.port):
                r.continue_()
            else:
                log.requests.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        def on_console(m) -> None:
            if m.type == "error":
                where = m.location or {}
                log.console_errors.append(f"{m.text} (at {where.get('url', '?')}:{where.get('lineNumber', '?')})")

        page.on("console", on_console)
        page.on("pageerror", lambda e: log.page_errors.append(f"{e} {(getattr(e, 'stack', '') or '')[:600]}"))

        def on_ws(ws) -> None:
            if not is_local(ws.url, server.port):
                log.requests.append(ws.url)
            ws.on("framereceived", lambda payload: log.frames_received.append(
                len(payload) if isinstance(payload, (bytes, str)) else 0))

        page.on("websocket", on_ws)
        page.goto(server.url(path), wait_until="domcontentloaded", timeout=PAGE_TIMEOUT)
        wait_app(page)
        server.remember_children()
        yield page, log
    finally:
        ctx.close()


def wait_app(page, timeout: int = PAGE_TIMEOUT) -> None:
    """Until the front end is up and the notebook panel exists."""
    page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook')",
                           timeout=timeout)


def wait_kernel_idle(page, timeout: int = KERNEL_TIMEOUT * 1000) -> None:
    """Until the notebook's kernel is connected and idle."""
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
                   const s = w && w.sessionContext && w.sessionContext.session;
                   const k = s && s.kernel;
                   return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }""",
        timeout=timeout,
    )


def command(page, name: str, args: dict | None = None) -> None:
    """Start a front-end command (``notebook:run-all-cells``, ...). It is not awaited (a command
    that opens a dialog resolves only when the dialog closes): wait for its effect instead."""
    page.evaluate("([n, a]) => { window.jupyterapp.commands.execute(n, a || {}); return null; }",
                  [name, args])


def wait_cells_done(page, timeout: int = KERNEL_TIMEOUT * 1000) -> None:
    """Until no cell is queued or running ("[*]") and the kernel is idle again."""
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
                   if (!w || !w.content) return false;
                   const busy = w.content.widgets.some((c) => c.model.type === 'code' &&
                       (c.promptNode && c.promptNode.textContent.includes('*')));
                   const k = w.sessionContext.session && w.sessionContext.session.kernel;
                   return !busy && k && k.status === 'idle'; }""",
        timeout=timeout,
    )


def run_all(page, timeout: int = KERNEL_TIMEOUT * 1000) -> None:
    """Run every cell of the open notebook and wait until all have finished."""
    wait_kernel_idle(page, timeout)
    command(page, "notebook:run-all-cells")
    page.wait_for_timeout(300)
    wait_cells_done(page, timeout)


def run_cell(page, index: int, timeout: int = KERNEL_TIMEOUT * 1000) -> None:
    """Select cell ``index`` and run it (the output is replaced, as a user re-running it)."""
    page.evaluate("(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", index)
    command(page, "notebook:run-cell")
    page.wait_for_timeout(300)
    wait_cells_done(page, timeout)


def save(page) -> None:
    command(page, "docmanager:save")
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget; return w && !w.context.model.dirty; }",
        timeout=60_000,
    )


def cell(page, i: int):
    """The ``i``-th cell of the open notebook."""
    return page.locator(".jp-Notebook .jp-Cell").nth(i)


def stdout_json(page, i: int) -> dict:
    """The last line of cell ``i``'s printed output, read as JSON (the cell has run)."""
    out = cell(page, i).locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]')
    if out.count() == 0:
        shown = cell(page, i).locator(".jp-OutputArea").inner_text()
        raise AssertionError(f"cell {i} printed nothing; its output:\n{shown[-3000:]}")
    return json.loads(out.last.inner_text().strip().splitlines()[-1])


def kernel_json(page, source: str, index: int) -> dict:
    """Insert a cell running ``source`` (which prints one JSON line) at ``index``, run it, and
    return what it printed."""
    page.evaluate(
        """([i, src]) => { const nb = window.jupyterapp.shell.currentWidget.content;
             nb.model.sharedModel.insertCell(i, {cell_type: 'code', source: src});
             nb.activeCellIndex = i; }""",
        [index, source],
    )
    run_cell(page, index)
    return stdout_json(page, index)
