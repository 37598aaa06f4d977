"""``engine="ray"``: a local Ray on this machine (2 CPUs, no dashboard, 127.0.0.1 only) with 2
actors gives the rows of the local engine, row for row, for a list of texts and for a file with
bad lines; started once for the module and shut down in ``finally``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tiny import save_tiny

import lmlens
import lmlens.lens.embed as embed_module

# Ray keeps to 127.0.0.1 only when told before it is imported (as lmlens does for a local Ray)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# the test extra installs lmlens[ray], so under CI=true a missing Ray fails (not skip_ok)
ray = pytest.importorskip("ray", reason="engine='ray' needs the lmlens[ray] extra")

#: No Ray call may hang the suite: a test still running after this many seconds fails (and the
#: module's head is stopped by its fixture's ``finally``).
TEST_TIMEOUT_S = 300


@pytest.fixture(autouse=True)
def _no_hang():
    def expired(signum, frame):
        raise TimeoutError(f"a Ray test ran past {TEST_TIMEOUT_S} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

TEXTS = [f"The capital of France is Paris, said the dog number {i}." + " The fox jumps." * (i % 5) for i in range(23)]


@pytest.fixture(scope="module")
def lens(tmp_path_factory):
    return lmlens.load(save_tiny(tmp_path_factory.mktemp("tiny-gpt2"), "gpt2"))


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Ray head of our own on 127.0.0.1 (2 CPUs, no dashboard), stopped in ``finally`` by ending
    the one process we started (``ray start --block``: its reaper ends the rest). Yields its address.

    Ray's raylet gives its agent 15 s to write its port files and aborts after that. ``import ray``
    costs ~3.5 s of CPU here, 2.7 s of it building ``rfc3987_syntax``'s grammar (jsonschema imports
    it when present; Jupyter installs it), which on a busy 2-core machine is too slow: the head's
    processes get a stub that makes jsonschema skip it, and the agents fixed ports."""
    gcs, agent, listen, export, env_agent, node, obj = _free_ports(7)
    tmp = tmp_path_factory.mktemp("ray")
    log = tmp / "head.log"
    (tmp / "stubs").mkdir()
    (tmp / "stubs" / "rfc3987_syntax.py").write_text('raise ImportError("skipped: its grammar takes seconds to build")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp / "stubs"), os.environ.get("PYTHONPATH", "")]),
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}
    saved_auth = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # the driver too: a token of our own, not ~/.ray's
    ray_cli = Path(sys.executable).parent / "ray"
    cmd = [str(ray_cli), "start", "--head", "--block", "--disable-usage-stats", "--num-cpus=2",
           "--include-dashboard=false", "--node-ip-address=127.0.0.1", f"--port={gcs}",
           f"--dashboard-agent-grpc-port={agent}", f"--dashboard-agent-listen-port={listen}",
           f"--metrics-export-port={export}", f"--runtime-env-agent-port={env_agent}",
           f"--node-manager-port={node}", f"--object-manager-port={obj}"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 240
        while b"Ray runtime started" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(1)
        yield f"127.0.0.1:{gcs}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        if saved_auth is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved_auth
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def test_ray_rows_equal_local_rows_for_a_list(lens, cluster, monkeypatch):
    """On the cluster at ``address``; the engine connects and disconnects, the cluster stays."""
    monkeypatch.setattr(embed_module, "WINDOW_LINES", 6)  # 4 windows over 2 actors
    local = lens.embed(TEXTS, layers=[-1, 0], batch_size=4, progress=False)
    distributed = lens.embed(TEXTS, layers=[-1, 0], batch_size=4, engine="ray", actors=2, address=cluster,
                             progress=False)
    assert distributed.shape == local.shape
    np.testing.assert_allclose(distributed, local, rtol=0, atol=1e-6)
    # row for row: each row is nearest to its own local row
    d = ((distributed[:, None] - local[None]) ** 2).sum(-1)
    assert (d.argmin(1) == np.arange(len(TEXTS))).all()
    assert not ray.is_initialized()  # the engine connected for this call only


def test_ray_file_output_equals_local_file_output(lens, cluster, tmp_path):
    """With a Ray the caller initialised: used, and left running."""
    ray.init(address=cluster, log_to_driver=False)
    lines = [t.encode() for t in TEXTS[:9]] + [b"", b"bad \xff"] + [t.encode() for t in TEXTS[9:]]
    src = tmp_path / "in.txt"
    src.write_bytes(b"\n".join(lines) + b"\n")
    here = lens.embed_file(src, tmp_path / "local.npy", window_lines=5, batch_size=4, progress=False)
    there = lens.embed_file(src, tmp_path / "ray.npy", window_lines=5, batch_size=4, engine="ray", actors=2,
                            progress=False)
    a, b = np.load(here.path), np.load(there.path)
    assert np.array_equal(np.isnan(a), np.isnan(b)) and np.isnan(a[[9, 10]]).all()
    np.testing.assert_allclose(b[~np.isnan(b).any(1)], a[~np.isnan(a).any(1)], rtol=0, atol=1e-6)
    assert there.skipped == here.skipped and [s["line"] for s in there.skipped] == [10, 11]
    side = json.loads(Path(str(there.path) + ".json").read_text())
    assert side["engine"] == "ray" and side["rows"] == len(lines)
    assert ray.is_initialized()
    ray.shutdown()


def test_without_a_ray_a_local_one_is_started_and_shut_down(lens, monkeypatch):
    """No Ray running and no address: ``ray.init`` of a light local Ray (bound to 127.0.0.1, no
    dashboard), and ``ray.shutdown`` in ``finally``, also when the run fails."""
    import lmlens.lens.embed_ray as engine

    calls = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kw: calls.append(("init", kw)))
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append(("shutdown", {})))

    def broken(*a, **k):
        raise RuntimeError("the pipeline failed")

    monkeypatch.setattr(ray.data, "from_items", broken)
    with pytest.raises(RuntimeError, match="the pipeline failed"):
        lens.embed(TEXTS, engine="ray", actors=3, progress=False)
    assert [c[0] for c in calls] == ["init", "shutdown"]
    kw = calls[0][1]
    assert kw["num_cpus"] == 3 and kw["include_dashboard"] is False and kw["_node_ip_address"] == "127.0.0.1"
    assert kw["_system_config"] == engine.LOCAL_SYSTEM_CONFIG and "address" not in kw


def test_a_lens_from_objects_in_memory_is_refused_before_ray_starts(lens):
    bare = lmlens.Lens(lens.model, lens.tokenizer)
    with pytest.raises(ValueError, match="lmlens.load"):
        bare.embed(TEXTS, engine="ray")
