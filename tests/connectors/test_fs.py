"""Folder: listing rules, file operations, errors, S3 through SeaweedFS, no leaked secrets."""

from __future__ import annotations

import logging
import pickle

import pytest

from connectors.fs import ConnectorError, Folder, S3Options, glob_to_regex

TREE = {
    "a.pdf": b"%PDF-1.4 a",
    "B.PDF": b"%PDF-1.4 b",
    "notes.txt": b"x",
    "empty.pdf": b"",
    "2024/03/c.pdf": b"%PDF c",
    "2024/d.pdf": b"%PDF d",
    "2024/tickets.jsonl": b"{}",
    ".hidden.pdf": b"h",
    ".git/objects/x.pdf": b"h",
    "_tmp/part.pdf": b"t",
    "_SUCCESS": b"",
    "2024/~$lock.pdf": b"l",
    "2024/upload.pdf.part": b"p",
    "2024/scan.tmp": b"t",
    "2024/_partial/e.pdf": b"e",
}
VISIBLE = ["2024/03/c.pdf", "2024/d.pdf", "2024/tickets.jsonl", "B.PDF", "a.pdf", "empty.pdf", "notes.txt"]


def _fill(folder: Folder) -> Folder:
    for path, data in TREE.items():
        folder.write_bytes(path, data)
    return folder


@pytest.fixture
def local_tree(tmp_path):
    return _fill(Folder.from_uri(tmp_path / "in"))


# ---------------------------------------------------------------------- globs


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("*.pdf", "a.pdf", True),
        ("*.pdf", "a.pdfx", False),
        ("**/*.pdf", "a.pdf", True),
        ("**/*.pdf", "x/y/a.pdf", True),
        ("2024/*.pdf", "2024/a.pdf", True),
        ("2024/*.pdf", "2024/03/a.pdf", False),
        ("2024/**", "2024/03/a.pdf", True),
        ("file?.csv", "file1.csv", True),
        ("file[0-9].csv", "filex.csv", False),
        ("file[!0-9].csv", "filex.csv", True),
        ("*.PDF", "a.pdf", True),
    ],
)
def test_glob_to_regex(pattern, path, hit):
    assert bool(glob_to_regex(pattern).match(path)) is hit


def test_glob_case_sensitive():
    assert not glob_to_regex("*.PDF", case_sensitive=True).match("a.pdf")


# ---------------------------------------------------------------------- local


def test_list_skips_hidden_temp_and_partial_files(local_tree):
    assert local_tree.list() == VISIBLE


def test_list_patterns_recursion_and_case(local_tree):
    assert local_tree.list("*.pdf") == ["2024/03/c.pdf", "2024/d.pdf", "B.PDF", "a.pdf", "empty.pdf"]
    assert local_tree.list("**/*.pdf") == local_tree.list("*.pdf")
    assert local_tree.list("*.pdf", recursive=False) == ["B.PDF", "a.pdf", "empty.pdf"]
    assert local_tree.list("*.pdf", case_sensitive=True) == [
        "2024/03/c.pdf",
        "2024/d.pdf",
        "a.pdf",
        "empty.pdf",
    ]
    assert local_tree.list("2024/*.pdf") == ["2024/d.pdf"]
    assert local_tree.list(["*.jsonl", "*.txt"]) == ["2024/tickets.jsonl", "notes.txt"]


def test_list_entries_report_sizes_and_keep_zero_byte_files(local_tree):
    entries = {e.path: e.size for e in local_tree.list_entries("*.pdf")}
    assert entries["empty.pdf"] == 0
    assert entries["a.pdf"] == len(TREE["a.pdf"])


def test_file_operations(tmp_path):
    folder = Folder.from_uri(str(tmp_path / "out"))
    assert not folder.exists("x/y.bin")
    folder.write_bytes("x/y.bin", b"123")
    assert folder.exists("x/y.bin") and folder.size("x/y.bin") == 3
    with folder.open_input("x/y.bin") as f:
        assert f.read() == b"123"
    folder.write_bytes("z.bin", b"new")
    folder.rename("z.bin", "x/y.bin")  # replaces
    assert folder.read_bytes("x/y.bin") == b"new" and not folder.exists("z.bin")
    folder.delete("x/y.bin")
    folder.delete("x/y.bin")  # missing is fine by default
    with pytest.raises(ConnectorError, match="not found"):
        folder.delete("x/y.bin", missing_ok=False)
    folder.write_bytes("d/e/f.bin", b"")
    folder.delete_dir("d")
    assert not folder.exists("d")
    folder.delete_dir("d")  # missing is fine
    with pytest.raises(ValueError, match="own root"):
        folder.delete_dir("")
    assert folder.uri("a/b.txt") == (tmp_path / "out" / "a" / "b.txt").as_posix()
    assert folder.child("x").uri("q") == folder.uri("x/q")


def test_paths_must_stay_inside_the_folder(tmp_path):
    folder = Folder.from_uri(tmp_path)
    for bad in ("../etc/passwd", "/etc/passwd", "a/../../b"):
        with pytest.raises(ValueError):
            folder.read_bytes(bad)


def test_single_file_uri_lists_just_that_file(local_tree):
    single = Folder.from_uri(local_tree.uri("2024/d.pdf"))
    assert single.list("*.jsonl") == ["d.pdf"]  # an explicit file is listed whatever the pattern
    assert single.read_bytes("d.pdf") == TREE["2024/d.pdf"]
    assert single.read_bytes() == TREE["2024/d.pdf"]
    assert single.uri("d.pdf") == local_tree.uri("2024/d.pdf")
    assert single.single_file == "d.pdf"


def test_file_uri_scheme_and_relative_paths(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.pdf").write_bytes(b"x")
    assert Folder.from_uri(f"file://{tmp_path}/docs").list() == ["a.pdf"]
    monkeypatch.chdir(tmp_path)
    assert Folder.from_uri("docs").list() == ["a.pdf"]


def test_missing_local_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ConnectorError, match=f"not found: {missing}"):
        Folder.from_uri(missing).list()


def test_empty_local_folder_lists_nothing(tmp_path):
    assert Folder.from_uri(tmp_path).list() == []


def test_unsupported_scheme():
    with pytest.raises(ConnectorError, match="unsupported URI scheme 'gs'"):
        Folder.from_uri("gs://bucket/x")
    with pytest.raises(ConnectorError, match="no bucket"):
        Folder.from_uri("s3:///x")


def test_folder_pickles_for_ray_workers(local_tree):
    clone = pickle.loads(pickle.dumps(local_tree))
    assert clone == local_tree and clone.list() == VISIBLE


# ---------------------------------------------------------------------- S3 options and secrets

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRET"
ACCESS = "AKIAEXAMPLEACCESS01"


def test_s3_options_from_env():
    env = {
        "AWS_ENDPOINT_URL": "http://generic:1",
        "AWS_ENDPOINT_URL_S3": "http://s3-specific:2",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": ACCESS,
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }
    opts = S3Options.from_env(env)
    assert opts.endpoint_url == "http://s3-specific:2"  # the S3-specific variable wins
    assert opts.region == "eu-west-1"
    assert opts.access_key.reveal() == ACCESS and opts.secret_key.reveal() == SECRET
    explicit = S3Options.from_env(env, endpoint_url="http://explicit:3", region="us-west-2")
    assert (explicit.endpoint_url, explicit.region) == ("http://explicit:3", "us-west-2")
    with pytest.raises(TypeError, match="unknown S3 option"):
        S3Options.from_env(env, endpont_url="typo")


def test_secrets_never_printed(caplog):
    caplog.set_level(logging.DEBUG)
    folder = Folder.from_uri(
        "s3://bucket/prefix",
        endpoint_url="http://127.0.0.1:9",  # nothing listens on the discard port
        access_key=ACCESS,
        secret_key=SECRET,
        retries=1,
        connect_timeout=1,
    )
    shown = [repr(folder), str(folder), repr(folder._s3), str(folder._s3), repr(folder.__dict__)]
    with pytest.raises(ConnectorError) as err:
        folder.list()
    shown += [str(err.value), repr(err.value), caplog.text]
    for text in shown:
        assert SECRET not in text and ACCESS not in text
    assert "s3://bucket/prefix" in str(err.value) and "127.0.0.1:9" in str(err.value)


# ---------------------------------------------------------------------- S3 (SeaweedFS)


def test_s3_listing_matches_local_rules(seaweed, s3_prefix):
    folder = _fill(Folder.from_uri(s3_prefix, **seaweed.folder_options))
    assert folder.list() == VISIBLE
    assert folder.list("*.pdf", recursive=False) == ["B.PDF", "a.pdf", "empty.pdf"]
    assert {e.path: e.size for e in folder.list_entries("empty.pdf")} == {"empty.pdf": 0}


def test_s3_from_environment_and_file_operations(s3_env, s3_prefix):
    folder = Folder.from_uri(s3_prefix)  # endpoint and keys from AWS_* variables
    folder.write_bytes("in/a.pdf", b"%PDF-1.4")
    assert folder.exists("in/a.pdf") and folder.read_bytes("in/a.pdf") == b"%PDF-1.4"
    folder.rename("in/a.pdf", "done/a.pdf")
    assert folder.list() == ["done/a.pdf"]
    assert folder.uri("done/a.pdf") == f"{s3_prefix}/done/a.pdf"
    single = Folder.from_uri(folder.uri("done/a.pdf"))
    assert single.list() == ["a.pdf"] and single.read_bytes("a.pdf") == b"%PDF-1.4"
    folder.delete("done/a.pdf")
    assert not folder.exists("done/a.pdf")
    clone = pickle.loads(pickle.dumps(folder))  # what a Ray worker gets
    clone.write_bytes("x.bin", b"1")
    assert folder.read_bytes("x.bin") == b"1"


def test_s3_missing_bucket_and_prefix_are_clear_errors(seaweed, s3_prefix):
    opts = seaweed.folder_options
    with pytest.raises(
        ConnectorError, match=r"not found: s3://no-such-bucket-x/docs \(bucket 'no-such-bucket-x'"
    ):
        Folder.from_uri("s3://no-such-bucket-x/docs", **opts).list()
    with pytest.raises(ConnectorError, match=f"not found: {s3_prefix}/nothing-here"):
        Folder.from_uri(f"{s3_prefix}/nothing-here", **opts).list()


def test_s3_wrong_secret_is_reported_without_the_secret(seaweed, s3_prefix):
    wrong = "not-the-right-SECRET-123456"
    folder = Folder.from_uri(s3_prefix, **{**seaweed.folder_options, "secret_key": wrong, "retries": 1})
    with pytest.raises(ConnectorError) as err:
        folder.write_bytes("a.txt", b"x")
    assert s3_prefix in str(err.value)
    assert wrong not in str(err.value) and seaweed.access_key not in str(err.value)


# ------------------------------------------------------------------ hostile trees (issues 22, 23)
def _hostile_tree(root, outside):
    import os

    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a", encoding="utf-8")
    (root / "sub" / "b.txt").write_text("bb", encoding="utf-8")
    (outside / "secret.txt").write_text("secret", encoding="utf-8")
    os.symlink(".", root / "loop")  # a directory loop
    os.symlink("sub", root / "sublink")  # a second way into a folder that is read anyway
    os.symlink("a.txt", root / "same.txt")  # a second name of a file that is read anyway
    os.symlink(outside / "secret.txt", root / "link.txt")  # out of the input
    os.symlink(outside, root / "outdir")
    os.symlink("nowhere.txt", root / "dangling.txt")
    os.symlink("selfloop", root / "selfloop")  # a link to itself
    (root / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"x")  # not UTF-8
    (root / os.fsdecode(b"dir\xff")).mkdir()
    os.mkfifo(root / "fifo.txt")
    (root / "out").mkdir()
    (root / "out" / "part-1.parquet").write_bytes(b"PAR1")


def test_scan_walks_each_real_folder_once_and_accounts_for_every_other_path(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    _hostile_tree(tmp_path / "in", outside)
    folder = Folder.from_uri(tmp_path / "in")
    listing = folder.scan(exclude=[folder.fs_path("out")])
    assert [(e.path, e.size) for e in listing.entries] == [("a.txt", 1), ("sub/b.txt", 2)]
    target = outside.resolve()
    assert [(k.path, k.reason, k.bad) for k in listing.skipped] == [
        ("caf\\xe9.txt", "bad_file_name", True),
        ("dangling.txt", "broken_link", True),
        ("dir\\xff/", "bad_file_name", True),
        ("fifo.txt", "not_a_file", False),
        ("link.txt", "link_outside", False),
        ("loop/", "link_loop", False),
        ("out/", "excluded", False),
        ("outdir/", "link_outside", False),
        ("same.txt", "duplicate_link", False),
        ("selfloop", "broken_link", True),
        ("sublink/", "link_loop", False),
    ]
    details = {k.path: k.detail for k in listing.skipped}
    assert details["link.txt"] == (
        f"a symbolic link to {target}/secret.txt, outside the input folder (--follow-links reads it)"
    )
    assert (
        details["dangling.txt"]
        == f"a symbolic link to {(tmp_path / 'in').resolve()}/nowhere.txt, which does not exist"
    )
    assert details["selfloop"] == "a symbolic link to a loop of links"
    assert details["same.txt"] == "a link to a.txt, which is read"
    assert folder.list() == ["a.txt", "out/part-1.parquet", "sub/b.txt"]  # plain listing: no exclusion


def test_scan_follows_links_out_of_the_input_only_when_asked_and_still_once(tmp_path):
    import os

    outside = tmp_path / "outside"
    outside.mkdir()
    _hostile_tree(tmp_path / "in", outside)
    os.symlink(tmp_path / "in", outside / "back")  # out, and back into the input: a loop
    os.symlink(outside / "secret.txt", tmp_path / "in" / "again.txt")  # the same outside file twice
    folder = Folder.from_uri(tmp_path / "in")
    listing = folder.scan(follow_links=True, exclude=[folder.fs_path("out")])
    assert [e.path for e in listing.entries] == ["a.txt", "again.txt", "outdir/secret.txt", "sub/b.txt"]
    reasons = {k.path: k.reason for k in listing.skipped}
    assert reasons["link.txt"] == "duplicate_link" and reasons["outdir/back/"] == "link_loop"
    assert "link_outside" not in reasons.values()


def test_scan_patterns_report_only_matching_files(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    _hostile_tree(tmp_path / "in", outside)
    listing = Folder.from_uri(tmp_path / "in").scan("*.pdf")
    assert listing.entries == []
    # folders and names that cannot be matched are reported; files only when they match
    assert {k.path for k in listing.skipped} == {"caf\\xe9.txt", "dir\\xff/", "loop/", "outdir/", "sublink/"}


def test_scan_walks_a_tree_nested_deeper_than_the_recursion_limit(tmp_path):
    """A tree nested deeper than Python's recursion limit (here lowered to 100 frames above
    this test's, so that the tree stays small enough for pytest's own clean-up; a hostile
    tree nests thousands deep): the file at the bottom is listed, no RecursionError."""
    import os
    import sys

    root = tmp_path / "in"
    (root / os.path.join(*["d"] * 300)).mkdir(parents=True)
    (root / os.path.join(*["d"] * 300) / "x.txt").write_text("甲方", encoding="utf-8")
    frames, frame = 0, sys._getframe()
    while frame is not None:
        frames, frame = frames + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(frames + 100)
    try:
        listing = Folder.from_uri(root).scan()
    finally:
        sys.setrecursionlimit(limit)
    assert [(e.path, e.size) for e in listing.entries] == [("d/" * 300 + "x.txt", 6)]
    assert listing.skipped == []
