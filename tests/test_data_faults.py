"""Data that cannot be had fails fast and says what to do: a network that accepts connections
but never answers, a directory or a broken link where a data file belongs."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

import plastix as px
from plastix.data import _datasets as datasets_module
from plastix.data import _download as download_module


@pytest.fixture
def silent_server():
    """A local server that accepts every connection and never sends a byte."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                held.append(conn)  # keep it open, silent
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/"
    stop.set()
    t.join(timeout=2)
    for c in held:
        c.close()
    srv.close()


def test_the_default_timeouts_fail_three_silent_mirrors_within_30_seconds():
    assert len(datasets_module._IDX_MIRRORS["mnist"]) * download_module._TIMEOUT_S < 30


def test_a_silent_network_fails_fast_naming_the_file_folder_and_manual_steps(
    silent_server, tmp_path, monkeypatch
):
    monkeypatch.setattr(download_module, "_TIMEOUT_S", 0.5)
    mirrors = (silent_server + "a/", silent_server + "b/", silent_server + "c/")
    monkeypatch.setitem(datasets_module._IDX_MIRRORS, "mnist", mirrors)
    t0 = time.monotonic()
    with pytest.raises(px.DataError) as err:
        px.data.load_dataset("mnist", "train", root=tmp_path)
    elapsed = time.monotonic() - t0
    assert elapsed < 3 * 0.5 + 3.0, elapsed  # one file's three mirrors, then it stops
    msg = str(err.value)
    assert "could not download train-images-idx3-ubyte.gz" in msg
    assert str(tmp_path / "mnist") in msg and "by hand" in msg and "\n" not in msg
    assert "timed out" in msg
    assert not list(tmp_path.rglob("*.gz")) and not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("obstacle", ["directory", "loop", "dangling"])
def test_something_in_the_way_of_a_data_file_is_named(obstacle, tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(download_module, "urlopen", refuse)
    folder = tmp_path / "mnist"
    folder.mkdir()
    path = folder / "train-images-idx3-ubyte.gz"
    if obstacle == "directory":
        path.mkdir()
        expect = "is a directory where the data file"
    elif obstacle == "loop":
        os.symlink(path, path)
        expect = "symbolic link that loops"
    else:
        os.symlink(tmp_path / "nowhere", path)
        expect = "symbolic link that points to nothing"
    with pytest.raises(px.DataError, match=expect):
        px.data.load_dataset("mnist", "train", root=tmp_path)
