"""The sort's archiver: every file it is given is in the archive, byte for byte and read-only, once it
is closed; batches are copied one after the other; a copy that fails is raised, not lost."""

from __future__ import annotations

import stat

import pytest

from pipelines.ingest.landing import Archiver, archive_path, land


def _landed(tmp_path, contents):
    base = tmp_path / "landing" / "2563-10"
    base.mkdir(parents=True)
    out = []
    for i, data in enumerate(contents):
        path = base / f"f{i}.csv"
        path.write_bytes(data)
        out.append(land(base, path, max_bytes=None))
    return out


def test_every_file_is_archived_read_only_when_closed_and_a_batch_waits_for_the_one_before(tmp_path):
    contents = [f"village_code,n\n{i:08d},{i}\n".encode() * (i + 1) for i in range(12)] + [b"same", b"same"]
    files, archive = _landed(tmp_path, contents), tmp_path / "archive"

    archiver = Archiver(archive, batch_bytes=1)  # every file a batch of its own
    for i, landed in enumerate(files):
        archiver.add(landed)
        if i:  # handing a batch over waits until the one before it is copied
            assert archive_path(archive, files[i - 1]).exists()
    archiver.close()

    for landed, data in zip(files, contents, strict=True):
        copy = archive_path(archive, landed)
        assert copy.read_bytes() == data
        assert stat.S_IMODE(copy.stat().st_mode) == 0o444
    assert not [p for p in archive.rglob(".*")]  # no temporary left behind
    assert len([p for p in archive.rglob("*") if p.is_file()]) == 13  # the same bytes twice: one copy


def test_files_wait_in_hand_until_their_batch_is_full_or_the_archiver_closes(tmp_path):
    files, archive = _landed(tmp_path, [b"a,b\n1,2\n", b"a,b\n3,4\n"]), tmp_path / "archive"
    archiver = Archiver(archive)  # 64 MB batches: both files stay in hand
    for landed in files:
        archiver.add(landed)
    assert not archive.exists()
    archiver.close()
    assert all(archive_path(archive, landed).exists() for landed in files)


def test_a_copy_that_fails_is_raised_when_the_archiver_closes(tmp_path):
    files = _landed(tmp_path, [b"a,b\n1,2\n"])
    archive = tmp_path / "archive"
    archive.write_text("a file where the archive's folder should be")
    archiver = Archiver(archive)
    archiver.add(files[0])
    with pytest.raises(OSError):
        archiver.close()
