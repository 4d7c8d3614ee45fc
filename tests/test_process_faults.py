"""Real processes and real signals (issue 15): two writers on one run directory or store,
kill -9 before the first checkpoint, SIGTERM as docker stop sends it, a full disk (a
small tmpfs where this user may mount one, else RLIMIT_FSIZE)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gantk.errors import DiskFullError, StoreError
from gantk.ingest.engine import ingest
from gantk.locks import DirLock, LockedError
from gantk.store import ImageStoreWriter, close_readers, read_metadata, verify_store
from gantk.training.checkpoint import latest_checkpoint, list_checkpoints, read_checkpoint
from gantk.training.config import make_config
from gantk.training.trainer import Trainer
from tests.conftest import write_store

GANTK = [sys.executable, "-m", "gantk"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TINY_SET = ["--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "log_every=2",
            "--set", "sample_every=100000", "--set", "checkpoint_every=100000"]
HOLD = ("import sys; from gantk.locks import DirLock; DirLock(sys.argv[1], 'test').acquire(); "
        "print('held', flush=True); sys.stdin.read()")


def _cli(*args, limit: int | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    def cap_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([*GANTK, *map(str, args)], capture_output=True, text=True, env=ENV,
                          timeout=timeout, preexec_fn=cap_file_size if limit else None)


def _one_line_error(proc: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    """The exit code, no traceback, and one `error:` line (the last) naming the problem."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _wait_for(condition, what: str, proc: subprocess.Popen | None = None, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended ({proc.returncode}) before {what}: "
                                 f"{proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _has_metrics(path: Path, inode: int | None = None) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    return st.st_size > 0 and st.st_ino != inode


def test_lock_names_holder_and_is_taken_over_after_kill(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], env=ENV,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match=f"pid {holder.pid} on host "
                                              f"{socket.gethostname()}"):
            DirLock(tmp_path, "test").acquire()
    finally:
        holder.kill()  # SIGKILL: no clean-up, the lock file stays behind
        holder.wait()
    assert (tmp_path / ".gantk.lock").exists()
    with DirLock(tmp_path, "test"):  # stale: its holder is gone
        pass


@pytest.mark.slow  # three `gantk run` processes (~10 s of torch imports on 2 busy cores)
def test_run_refuses_second_writer_resumes_after_kill_and_stops_on_sigterm(tmp_path):
    """kill -9 before the first checkpoint, then --resume starts over from step 0;
    SIGTERM stops after the current step with a checkpoint, like Ctrl-C."""
    store = write_store(tmp_path / "store", count=64)
    run = tmp_path / "run"
    first = subprocess.Popen([*GANTK, "run", "dcgan", "--data", store, "--out", run,
                              "--steps", "100000", "--batch-size", "8", "--device", "cpu",
                              *TINY_SET], env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _has_metrics(run / "metrics.jsonl"), "training", first)
        second = _cli("run", "dcgan", "--resume", "--out", run)
        _one_line_error(second, 2, f"{run} is in use", f"pid {first.pid}")
    finally:
        first.kill()
        first.wait()
    assert latest_checkpoint(run) is None  # killed before its first checkpoint
    stale = run / "checkpoints" / ".step-00000500.safetensors.k1ll.tmp"
    stale.write_bytes(b"\0" * 4096)
    inode = (run / "metrics.jsonl").stat().st_ino
    resumed = subprocess.Popen([*GANTK, "run", "dcgan", "--resume", "--out", run], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _has_metrics(run / "metrics.jsonl", inode), "resumed run", resumed)
        resumed.send_signal(signal.SIGTERM)
        out, err = resumed.communicate(timeout=120)
    finally:
        resumed.kill()
    assert resumed.returncode == 130, out + err
    assert "no checkpoint yet: starting it from step 0" in " ".join(err.split())
    assert "interrupted at step" in out and not stale.exists()
    header, _ = read_checkpoint(latest_checkpoint(run))
    assert f"interrupted at step {header['state']['step']};" in out
    assert header["state"]["step"] > 0


def test_second_ingest_into_one_dest_is_refused(tmp_path):
    """A writer is filling DEST (still empty on disk); another ingest must not remove it."""
    dest, src = tmp_path / "dest", tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (16, 16), "red").save(src / "a.png")
    fill = ("import sys, numpy as np; from gantk.store import ImageStoreWriter\n"
            "w = ImageStoreWriter(sys.argv[1], 8, 3, source='test')\n"
            "print('open', flush=True); sys.stdin.readline()\n"
            "[w.add(np.full((8, 8, 3), i, np.uint8), None, f'k{i}') for i in range(5)]\n"
            "print(w.close()['count'], flush=True)")
    writer = subprocess.Popen([sys.executable, "-c", fill, str(dest)], env=ENV, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert writer.stdout.readline().strip() == "open"
        other = _cli("ingest", "folder", src, dest, "--resolution", "8")
        _one_line_error(other, 2, f"{dest} is in use", f"pid {writer.pid}")
        out, _ = writer.communicate("go\n", timeout=60)
    finally:
        writer.kill()
    assert out.strip() == "5" and read_metadata(dest)["count"] == 5
    assert verify_store(dest)["count"] == 5


def _store_started(dest: Path) -> bool:
    try:
        return read_metadata(dest)["count"] >= 0
    except (StoreError, FileNotFoundError):
        return False


@pytest.mark.slow
def test_sigterm_stops_an_ingest_like_ctrl_c(tmp_path):
    """docker stop during `gantk ingest`: what was read is kept, the same command resumes."""
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    # large PNGs (~0.2 s each to decode), hard links of one file: slow to ingest, cheap to make
    Image.new("RGB", (4000, 4000), (90, 120, 200)).save(src / "00.png", compress_level=1)
    for i in range(1, 12):
        os.link(src / "00.png", src / f"{i:02d}.png")
    command = [*GANTK, "ingest", "folder", src, dest, "--resolution", "8", "--workers", "1"]
    proc = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _store_started(dest), "the store", proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    assert "interrupted; what was ingested is kept" in err and "Traceback" not in err
    assert verify_store(dest)["count"] < 12  # stopped early, and what is there is whole
    close_readers()
    again = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert verify_store(dest)["count"] == 12


def _image_folder(path: Path, count: int) -> Path:
    path.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), np.uint8)).save(path / f"{i:05d}.png")
    return path


@pytest.mark.slow
def test_ingest_over_the_file_size_limit_is_one_line_and_keeps_the_store(tmp_path):
    src = _image_folder(tmp_path / "src", 1100)  # 512-record commits of 3 KB images
    dest = tmp_path / "dest"
    proc = _cli("ingest", "folder", src, dest, "--resolution", "32", "--workers", "1",
                limit=2_500_000)
    _one_line_error(proc, 3, "file size limit", "run the same command again")
    meta = read_metadata(dest)
    assert meta["count"] == 512 and verify_store(dest)["count"] == 512  # the first commit
    done = _cli("ingest", "folder", src, dest, "--resolution", "32", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert verify_store(dest)["count"] == 1100


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real full disk: a 3 MB tmpfs (needs root, as in this project's containers)."""
    mount = tmp_path / "small"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("cannot mount a tmpfs here (not root); the RLIMIT_FSIZE tests cover it")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_ingest_on_a_full_disk_says_no_space_and_keeps_the_store(small_tmpfs, tmp_path):
    src = _image_folder(tmp_path / "src", 1100)
    dest = small_tmpfs / "dest"
    with pytest.raises(DiskFullError, match=f"no space left on device {small_tmpfs}"):
        ingest("folder", src, dest, resolution=32, workers=1)
    assert verify_store(dest)["count"] == read_metadata(dest)["count"] == 512


def _trained(tmp_path: Path) -> Path:
    store = write_store(tmp_path / "store", count=64)
    run = tmp_path / "run"
    Trainer(make_config({"architecture": "dcgan", "data": str(store), "batch_size": 8,
                         "steps": 3, "model": {"ngf": 8, "ndf": 8}, "log_every": 3,
                         "sample_every": 3, "checkpoint_every": 3, "device": "cpu"}),
            run, log=lambda _: None).fit()
    return run


@contextlib.contextmanager
def file_size_limit(limit: int):
    """RLIMIT_FSIZE in this process (SIGXFSZ ignored, as `gantk` does: writes past the
    limit fail with EFBIG); the soft limit goes back afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_checkpoint_over_the_file_size_limit_keeps_the_last_one(tmp_path):
    run = _trained(tmp_path)
    config = make_config(json.loads((run / "config.json").read_text()), {"steps": 6})
    trainer = Trainer(config, run, resume=True, log=lambda _: None)
    with file_size_limit(latest_checkpoint(run).stat().st_size // 2), \
            pytest.raises(DiskFullError, match="checkpoint .* the file size limit"):
        trainer.fit()
    assert DiskFullError.exit_code == 3  # a run that failed
    assert [p.name for p in list_checkpoints(run)] == ["step-00000003.safetensors"]
    assert read_checkpoint(latest_checkpoint(run))[0]["state"]["step"] == 3
    assert not list((run / "checkpoints").glob(".*.tmp"))


def test_checkpoint_on_a_full_disk_says_no_space(small_tmpfs, tmp_path):
    trained = _trained(tmp_path)
    run = small_tmpfs / "run"
    (run / "checkpoints").mkdir(parents=True)
    for name in ("config.json", "metrics.jsonl", "checkpoints/step-00000003.safetensors"):
        shutil.copy(trained / name, run / name)
    (small_tmpfs / "filler").write_bytes(b"\0" * (1 << 20))  # leave less than a checkpoint
    config = make_config(json.loads((run / "config.json").read_text()), {"steps": 6})
    wanted = f"no space left on device {small_tmpfs}; .* continue with .*--resume --out {run}"
    with pytest.raises(DiskFullError, match=wanted):
        Trainer(config, run, resume=True, log=lambda _: None).fit()
    assert read_checkpoint(latest_checkpoint(run))[0]["state"]["step"] == 3
    assert not list((run / "checkpoints").glob(".*.tmp"))


def test_a_writer_cannot_open_a_file_as_store(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(Exception, match="is a file, not a directory"):
        ImageStoreWriter(target, 8, 3)
