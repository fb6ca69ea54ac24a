"""A run's files are one transaction (docs/merge.md#one-transaction): the output, its audit log
and convert's customers are all the old ones or all the new ones, whatever happens (a write
error, a full disk, a failed rename, Ctrl-C, SIGTERM or SIGHUP at any moment), and no staging or
temporary file is left behind. Paths that would overwrite each other are refused before anything
is read."""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_one_line_error
from typer.testing import CliRunner

from leadtool.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "leads.csv"
runner = CliRunner()
OLD_OUT, OLD_AUDIT, OLD_CUSTOMERS = b"old output\n", b"old audit\n", b"old customers\n"


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def consistent(out: Path, audit: Path) -> str:
    """'old' when both are the old ones, 'new' when the audit log's digest is the output's,
    'none' when neither exists; anything else fails."""
    if not out.exists() and not audit.exists():
        return "none"
    if out.read_bytes() == OLD_OUT and audit.read_bytes() == OLD_AUDIT:
        return "old"
    run_event = json.loads(audit.read_bytes().split(b"\n", 1)[0])
    data = out.read_bytes()
    assert run_event["output_sha256"] == hashlib.sha256(data).hexdigest(), "an output with another run's audit log"
    assert run_event["output_bytes"] == len(data)
    return "new"


# ----------------------------------------------------------------------------- item 6
@pytest.mark.parametrize("args, needle", [
    (["merge", "in.csv", "-o", "m.csv", "--audit", "m.csv"], "--audit m.csv and -o m.csv are the same file"),
    (["merge", "in.csv", "-o", "m.csv", "--audit", "./sub/../m.csv"], "are the same file"),
    (["merge", "in.csv", "-o", "m.csv", "--audit", "link.csv"], "are the same file"),
    (["merge", "in.csv", "-o", "m.csv", "--audit", "in.csv"], "refusing to overwrite an input file"),
    (["merge", "in.csv", "-o", "groups.csv", "--groups", "groups.csv"], "the --groups file"),
    (["merge", "in.csv", "-o", "leadtool.toml", "--config", "leadtool.toml"], "the --config file"),
    (["convert", "in.csv", "--all", "-o", "c.csv", "--customers-out", "c.csv"], "--customers-out c.csv and -o c.csv"),
    (["convert", "in.csv", "--all", "-o", "c.csv", "--customers-out", "c.csv.audit.jsonl"],
     "--customers-out c.csv.audit.jsonl and --audit c.csv.audit.jsonl"),
    (["convert", "in.csv", "--all", "-o", "c.csv", "--customers", "cust.csv", "--customers-out", "cust.csv"],
     "the --customers file"),
    (["undo", "a.jsonl", "--input", "m.csv", "-o", "a.jsonl"], "refusing to overwrite the AUDIT file"),
    (["merge", "in.csv", "-o", "-", "--audit", "-"], "-o - and --audit - would all write to standard output"),
    (["undo", "a.jsonl", "--input", "m.csv", "-o", "m.csv"], "the --input file"),
])
def test_paths_that_would_overwrite_each_other_are_refused_before_reading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for name in ("m.csv", "groups.csv", "leadtool.toml", "cust.csv", "a.jsonl", "c.csv"):
        (tmp_path / name).write_bytes(b"precious\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "m.csv")
    # in.csv does not exist: the refusal comes before any file is read
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert_one_line_error(run(*args), needle)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


@pytest.mark.parametrize("args, needle", [
    (["-o", ""], "-o '': an empty path"),
    (["-o", "out.csv", "--audit", ""], "--audit '': an empty path"),
    (["-o", "folder"], "folder: is a folder"),
    (["-o", "folder/"], "is a folder"),
])
def test_empty_paths_and_folders_as_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            args: list[str], needle: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    assert_one_line_error(run("merge", SAMPLE, *args, "--yes", "--quiet"), needle)
    assert names(tmp_path) == ["folder"] and names(tmp_path / "folder") == []


# ----------------------------------------------------------------------------- items 15, 17, 18
def test_a_device_that_fails_publishes_no_audit_log(tmp_path: Path) -> None:
    audit = tmp_path / "a.jsonl"
    assert_one_line_error(run("merge", SAMPLE, "-o", "/dev/full", "--audit", audit, "--yes", "--quiet"),
                          "/dev/full: cannot write: No space left on device")
    assert names(tmp_path) == []  # no audit log for a merge that never happened
    audit.write_bytes(OLD_AUDIT)
    assert_one_line_error(run("merge", SAMPLE, "-o", "/dev/full", "--audit", audit, "--yes", "-q"), "/dev/full")
    assert audit.read_bytes() == OLD_AUDIT and names(tmp_path) == ["a.jsonl"]


def _limited(size: int):
    def limit() -> None:  # in the child: files larger than `size` cannot be written
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


@pytest.mark.parametrize("command", [["merge"], ["convert", "--all", "--customers-out", "cust.csv"]])
def test_a_full_disk_changes_nothing(tmp_path: Path, command: list[str]) -> None:
    out, audit, customers = tmp_path / "m.csv", tmp_path / "m.csv.audit.jsonl", tmp_path / "cust.csv"
    out.write_bytes(OLD_OUT)
    audit.write_bytes(OLD_AUDIT)
    customers.write_bytes(OLD_CUSTOMERS)
    result = subprocess.run([sys.executable, "-m", "leadtool", command[0], str(SAMPLE), *command[1:], "-o", "m.csv",
                             "--yes", "--quiet"], cwd=tmp_path, capture_output=True, preexec_fn=_limited(4000))
    assert result.returncode == 2, result.stderr
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "cannot write: File too large" in err and ".staging" not in err
    assert (out.read_bytes(), audit.read_bytes(), customers.read_bytes()) == (OLD_OUT, OLD_AUDIT, OLD_CUSTOMERS)
    assert names(tmp_path) == ["cust.csv", "m.csv", "m.csv.audit.jsonl"]


def test_a_failed_rename_takes_back_the_ones_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An output that cannot be replaced (an immutable file, a folder made read-only meanwhile):
    the files already renamed get their old content back."""
    import leadtool.io.publish as publish

    out, audit, customers = tmp_path / "c.csv", tmp_path / "c.csv.audit.jsonl", tmp_path / "cust.csv"
    out.write_bytes(OLD_OUT)
    customers.write_bytes(OLD_CUSTOMERS)  # the audit log did not exist: it must not exist after
    real = publish.rename_into_place

    def failing(path: str, target: str) -> None:
        if target.endswith(".audit.jsonl"):
            raise PermissionError(1, "Operation not permitted")
        real(path, target)

    monkeypatch.setattr(publish, "rename_into_place", failing)
    result = run("convert", SAMPLE, "--all", "-o", out, "--customers-out", customers, "--yes", "-q")
    assert_one_line_error(result, f"{audit}: cannot write: Operation not permitted; nothing was changed")
    assert out.read_bytes() == OLD_OUT and customers.read_bytes() == OLD_CUSTOMERS and not audit.exists()
    assert names(tmp_path) == ["c.csv", "cust.csv"]


def test_a_folder_where_no_file_can_be_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    done = tmp_path / "done.csv"
    assert run("merge", SAMPLE, "-o", done, "--yes", "-q").exit_code == 0

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    out, restored = tmp_path / "m.csv", tmp_path / "r.csv"
    assert_one_line_error(run("merge", SAMPLE, "-o", out, "--yes", "-q"), f"{out}: cannot write: Read-only file system")
    assert_one_line_error(run("undo", f"{done}.audit.jsonl", "--input", done, "-o", restored, "-q"),
                          f"{restored}: cannot write: Read-only file system")
    assert names(tmp_path) == ["done.csv", "done.csv.audit.jsonl"]


@pytest.mark.parametrize("immutable", ["m.csv", "m.csv.audit.jsonl"])
def test_an_immutable_target_changes_nothing(tmp_path: Path, immutable: str) -> None:
    """chattr +i (root, and a file system that has the flag): the rename onto it fails; when the
    output was renamed already, it gets its old content back."""
    out, audit = tmp_path / "m.csv", tmp_path / "m.csv.audit.jsonl"
    out.write_bytes(OLD_OUT)
    audit.write_bytes(OLD_AUDIT)
    if subprocess.run(["chattr", "+i", str(tmp_path / immutable)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        assert_one_line_error(run("merge", SAMPLE, "-o", out, "--yes", "-q"),
                              f"{tmp_path / immutable}: cannot write: Operation not permitted")
        assert consistent(out, audit) == "old" and names(tmp_path) == ["m.csv", "m.csv.audit.jsonl"]
    finally:
        subprocess.run(["chattr", "-i", str(tmp_path / immutable)], capture_output=True)


def test_a_value_the_output_encoding_cannot_hold(tmp_path: Path) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_bytes("id,name,email_from,city\n1,Ren\u00e9,a@x.com,\n".encode("cp1252"))
    second.write_bytes("id,name,email_from,city\n2,Bob,a@x.com,\u6771\u4eac\n".encode())
    out = tmp_path / "m.csv"
    out.write_bytes(OLD_OUT)
    line = assert_one_line_error(run("merge", first, second, "-o", out, "--yes", "-q"),
                                 f"{out}: line 2: cannot write '\u6771' (U+6771, in '1,Ren\u00e9,a@x.com,"
                                 "\u6771\u4eac')", "cp1252")
    assert "staging" not in line and "--output-encoding" not in line
    assert out.read_bytes() == OLD_OUT and names(tmp_path) == ["first.csv", "m.csv", "second.csv"]


@pytest.mark.parametrize("content, needle", [
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "looks like a PNG image"),
    (b"group,id\n1,\x00\x01\x02", "looks like a binary file"),
    ("group,id\n1,\u00e9\n".encode("cp1252"), "line 2: not UTF-8 text"),
    (b"name\nx\n", "needs the columns 'group' and 'id'"),
])
def test_a_groups_file_that_is_not_a_groups_csv(tmp_path: Path, content: bytes, needle: str) -> None:
    groups = tmp_path / "g.csv"
    groups.write_bytes(content)
    for command in (["merge", SAMPLE, "-o", tmp_path / "m.csv", "--yes"], ["dupes", SAMPLE], ["check", SAMPLE]):
        assert_one_line_error(run(*command, "--groups", groups, "--quiet"), f"{groups}: ", needle)
    assert names(tmp_path) == ["g.csv"]


def test_convert_customers_out_is_published_with_the_output(tmp_path: Path) -> None:
    out, customers = tmp_path / "c.csv", tmp_path / "cust.csv"
    result = run("convert", SAMPLE, "--ids", "25", "-o", out, "--customers-out", customers, "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    assert customers.read_bytes().startswith(b'"id","name","is_company"')
    assert consistent(out, Path(f"{out}.audit.jsonl")) == "new"
    assert names(tmp_path) == ["c.csv", "c.csv.audit.jsonl", "cust.csv"]


def test_a_signal_during_the_renames_takes_effect_once_they_are_done(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import leadtool.io.publish as publish

    out, audit = tmp_path / "m.csv", tmp_path / "m.csv.audit.jsonl"
    out.write_bytes(OLD_OUT)
    audit.write_bytes(OLD_AUDIT)
    real = publish.rename_into_place
    renamed: list[str] = []

    def interrupted(path: str, target: str) -> None:
        if not renamed:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C between the two renames
        real(path, target)
        renamed.append(target)

    monkeypatch.setattr(publish, "rename_into_place", interrupted)
    result = run("merge", SAMPLE, "-o", out, "--yes", "--quiet")
    assert result.exit_code == 130 and len(renamed) == 2
    assert consistent(out, audit) == "new" and names(tmp_path) == ["m.csv", "m.csv.audit.jsonl"]


# ----------------------------------------------------------------------------- items 4, 14, 20: real signals
@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated export large enough that writing takes a moment (~25 MB)."""
    path = tmp_path_factory.mktemp("big") / "leads.csv"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--rows", "70000", "-o", str(path)],
                   check=True, capture_output=True)
    return path


def _leadtool(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "leadtool", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _when(folder: Path, suffix: str, min_size: int = 0, timeout: float = 60) -> bool:
    """Wait until a file ending in `suffix` (of `min_size` bytes or more) is in `folder`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for p in folder.iterdir():
            try:
                if p.name.endswith(suffix) and p.stat().st_size >= min_size:
                    return True
            except FileNotFoundError:
                pass
        time.sleep(0.001)
    return False


def _ended(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:  # the deadlock of issue 13, item 20
        proc.kill()
        proc.communicate()
        pytest.fail("the process hung after the signal")
    return proc.returncode, err.decode()


MOMENTS = [  # (signal, when: the suffix of a file to wait for and its size, or a delay in seconds)
    (signal.SIGTERM, 0.3),  # while starting or reading
    (signal.SIGINT, (".staging", 0)),  # as the staging files are made
    (signal.SIGTERM, (".staging", 1 << 20)),  # while they are written
    (signal.SIGHUP, (".staging", 4 << 20)),
    (signal.SIGINT, (".staging", 8 << 20)),
]


@pytest.mark.parametrize("sig, when", MOMENTS, ids=[f"{signal.Signals(s).name}-{w}" for s, w in MOMENTS])
@pytest.mark.parametrize("earlier", [True, False], ids=["replacing", "new"])
def test_a_signal_while_merge_writes_leaves_both_old_or_both_new(big: Path, tmp_path: Path, sig: int, when,
                                                                 earlier: bool) -> None:
    out, audit = tmp_path / "m.csv", tmp_path / "m.csv.audit.jsonl"
    if earlier:
        out.write_bytes(OLD_OUT)
        audit.write_bytes(OLD_AUDIT)
    proc = _leadtool(["merge", str(big), "-o", "m.csv", "--yes", "--quiet", "--no-progress"], tmp_path)
    if isinstance(when, tuple):
        assert _when(tmp_path, *when), "the run never wrote"
    else:
        time.sleep(when)
    proc.send_signal(sig)
    code, err = _ended(proc)
    state = consistent(out, audit)
    assert names(tmp_path) == (["m.csv", "m.csv.audit.jsonl"] if state != "none" else []), "files left behind"
    if code == 0:  # the run was done before the signal came
        assert state == "new"
    elif code == -sig:  # still starting (importing): ended by the signal itself, nothing written yet
        assert not isinstance(when, tuple) and state == ("old" if earlier else "none")
    else:
        assert code == 128 + sig and err.strip() == "interrupted", (code, err)
        assert state == ("old" if earlier else "none")


def test_signals_at_random_moments(big: Path, tmp_path: Path) -> None:
    out, audit = tmp_path / "m.csv", tmp_path / "m.csv.audit.jsonl"
    start = time.monotonic()
    proc = _leadtool(["merge", str(big), "-o", "m.csv", "--yes", "--quiet", "--no-progress"], tmp_path)
    assert _ended(proc)[0] == 0
    took = time.monotonic() - start
    rng = random.Random(13)
    for _ in range(4):
        out.write_bytes(OLD_OUT)
        audit.write_bytes(OLD_AUDIT)
        proc = _leadtool(["merge", str(big), "-o", "m.csv", "--yes", "--quiet", "--no-progress"], tmp_path)
        time.sleep(rng.uniform(0.4, 1.0) * took)
        sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
        proc.send_signal(sig)
        code, _ = _ended(proc)
        assert code in (0, 128 + sig, -sig)  # -sig: ended by the signal while still starting
        assert consistent(out, audit) == ("new" if code == 0 else "old")
        assert names(tmp_path) == ["m.csv", "m.csv.audit.jsonl"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_as_convert_writes_its_customers(big: Path, tmp_path: Path, sig: int) -> None:
    for name, old in (("c.csv", OLD_OUT), ("c.csv.audit.jsonl", OLD_AUDIT), ("cust.csv", OLD_CUSTOMERS)):
        (tmp_path / name).write_bytes(old)
    proc = _leadtool(["convert", str(big), "--all", "--no-dedupe", "-o", "c.csv", "--customers-out", "cust.csv",
                      "--yes", "--quiet", "--no-progress"], tmp_path)
    assert _when(tmp_path, ".staging", 1 << 20)
    proc.send_signal(sig)
    code, _ = _ended(proc)
    assert names(tmp_path) == ["c.csv", "c.csv.audit.jsonl", "cust.csv"]
    if code:
        assert code == 128 + sig
        assert [(tmp_path / n).read_bytes() for n in ("c.csv", "c.csv.audit.jsonl", "cust.csv")] == [
            OLD_OUT, OLD_AUDIT, OLD_CUSTOMERS]
    else:
        assert consistent(tmp_path / "c.csv", tmp_path / "c.csv.audit.jsonl") == "new"
        assert (tmp_path / "cust.csv").read_bytes() != OLD_CUSTOMERS


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_as_undo_makes_its_temporary_file(big: Path, tmp_path: Path, sig: int) -> None:
    merged = _leadtool(["merge", str(big), "-o", "m.csv", "--yes", "--quiet", "--no-progress"], tmp_path)
    assert _ended(merged)[0] == 0
    proc = _leadtool(["undo", "m.csv.audit.jsonl", "--input", "m.csv", "-o", "r.csv", "--quiet"], tmp_path)
    assert _when(tmp_path, ".tmp", 0)  # just after undo creates its temporary file
    proc.send_signal(sig)
    code, err = _ended(proc)
    if code:
        assert code == 128 + sig and err.strip() == "interrupted"
        assert names(tmp_path) == ["m.csv", "m.csv.audit.jsonl"]
    else:
        assert names(tmp_path) == ["m.csv", "m.csv.audit.jsonl", "r.csv"]
