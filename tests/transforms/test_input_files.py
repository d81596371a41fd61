"""transforms/input_files.py: no file outside INPUT is ever opened, links are never followed."""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from transforms.ingest import read_bounded
from transforms.input_files import has_symlink_component, open_input
from transforms.parsers.base import ArtifactRejected
from transforms.records import DeadLetterReason

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from hostile_input import OpenWatch  # noqa: E402

CANARY = b"Yolanda Featherstonehaugh 078-05-1120"


@pytest.fixture
def tree(tmp_path):
    root, outside = tmp_path / "input", tmp_path / "outside"
    (root / "m1" / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_bytes(CANARY)
    (root / "m1" / "ok.txt").write_bytes(b"fine")
    (root / "m1" / "sub" / "ok.txt").write_bytes(b"fine too")
    return root, outside


def _watch(path: Path) -> OpenWatch:
    watch = OpenWatch([path])
    if not watch.available:
        pytest.skip("inotify is not available here")
    return watch


def test_the_open_watch_sees_an_open(tree):
    _, outside = tree
    watch = _watch(outside / "secret.txt")
    (outside / "secret.txt").read_bytes()
    assert watch.opened() == 1
    watch.close()


def test_regular_files_below_the_root_are_read(tree):
    root, _ = tree
    with open_input(str(root), f"{root}/m1/sub/ok.txt") as handle:
        assert handle.read() == b"fine too"
    assert read_bounded(f"{root}/m1/ok.txt", 100, root=str(root) + "/") == b"fine"


@pytest.mark.parametrize("link_target", ["outside", "inside"])
def test_a_linked_file_is_refused_and_its_target_never_opened(tree, link_target):
    root, outside = tree
    target = outside / "secret.txt" if link_target == "outside" else root / "m1" / "ok.txt"
    os.symlink(target, root / "m1" / "notes.txt")
    watch = _watch(target)
    with pytest.raises(ArtifactRejected) as caught:
        read_bounded(f"{root}/m1/notes.txt", 1000, root=str(root))
    assert caught.value.reason is DeadLetterReason.SYMLINK
    assert watch.opened() == 0
    watch.close()


def test_a_linked_folder_on_the_path_is_refused(tree):
    root, outside = tree
    os.symlink(outside, root / "m1" / "linked")
    watch = _watch(outside / "secret.txt")
    with pytest.raises(ArtifactRejected) as caught:
        open_input(str(root), f"{root}/m1/linked/secret.txt")
    assert caught.value.reason is DeadLetterReason.SYMLINK
    assert has_symlink_component(str(root), f"{root}/m1/linked/secret.txt")
    assert not has_symlink_component(str(root), f"{root}/m1/sub/ok.txt")
    assert watch.opened() == 0
    watch.close()


def test_a_meeting_folder_that_is_a_link_is_refused(tree):
    root, outside = tree
    (outside / "m2").mkdir()
    (outside / "m2" / "t.vtt").write_bytes(CANARY)
    os.symlink(outside / "m2", root / "m2")
    with pytest.raises(ArtifactRejected) as caught:
        open_input(str(root), f"{root}/m2/t.vtt")
    assert caught.value.reason is DeadLetterReason.SYMLINK


def test_a_file_swapped_for_a_link_after_listing_is_refused(tree):
    """No check-then-open race: the refusal happens in the open itself."""
    root, outside = tree
    listed = root / "m1" / "ok.txt"
    listed.unlink()
    os.symlink(outside / "secret.txt", listed)
    with pytest.raises(ArtifactRejected) as caught:
        read_bounded(str(listed), 1000, root=str(root))
    assert caught.value.reason is DeadLetterReason.SYMLINK


def test_a_fifo_is_refused_without_blocking(tree):
    root, _ = tree
    fifo = root / "m1" / "chat.txt"
    os.mkfifo(fifo)
    outcome = {}

    def read():
        try:
            read_bounded(str(fifo), 1000, root=str(root))
            outcome["read"] = True
        except ArtifactRejected as rejected:
            outcome["reason"] = rejected.reason

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():   # unblock the reader so the test process can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(timeout=5)
        pytest.fail("opening a FIFO blocked")
    assert outcome == {"reason": DeadLetterReason.SPECIAL_FILE}


@pytest.mark.parametrize("uri", ["{root}/../outside/secret.txt", "/elsewhere/m1/ok.txt", "{root}/"])
def test_paths_that_leave_the_root_are_refused(tree, uri):
    root, _ = tree
    with pytest.raises(ArtifactRejected) as caught:
        open_input(str(root), uri.format(root=root))
    assert caught.value.reason is DeadLetterReason.PATH_ESCAPE


def test_a_missing_file_is_an_os_error(tree):
    root, _ = tree
    with pytest.raises(FileNotFoundError):
        open_input(str(root), f"{root}/m1/gone.txt")
