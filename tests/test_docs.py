"""Docs that cannot rot: every example of README.md and docs/*.md runs against a copy of the
samples, every command and option of the CLI has an entry in docs/commands.md, and every relative
link points at a file and a heading that exist.

How examples are run (so that a docs writer knows what a block may hold):
- ```sh, ```shell and ```console blocks: each `leadtool ...` command runs in-process (typer's
  CliRunner), in a folder holding a copy of `samples/`, one folder per Markdown file shared by its
  blocks in order (a block may use the files an earlier one wrote). In ```console blocks only the
  lines after `$ ` are commands; the other lines are output, and each plain one (no table border,
  no `…` or `...`) must appear in what the command printed (white space aside).
  Anything that is not a `leadtool` command (`pip install`, `python -m pytest`, the parts of a
  `... && ...` chain before it) is not run. `> FILE` and `< FILE` redirect; `| ...` drops the
  output; `*` is expanded like a shell does. The command must exit 0 unless its line ends with a
  comment `# exit N`.
- ```python blocks run with the same working folder. A block that uses a public name the library
  does not have yet (the renamed functions below) is skipped, saying so.
- A block of any language right after a line `<!-- file: NAME -->` (invisible once rendered) is
  written to NAME: a config file or a small input that the blocks after it use.
"""

from __future__ import annotations

import contextlib
import glob
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

import leadtool
from leadtool.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS_DIR.glob("*.md"))]
SHELL = ("sh", "shell", "console")
#: public names the docs use before the functions of the same job are renamed to them (the
#: package layout of issue 12: merge -> merge_records, convert -> convert_leads, check -> check_records)
RENAMED = {"merge_records": "merge", "convert_leads": "convert", "check_records": "check"}


# ----------------------------------------------------------------------------- reading Markdown
@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    file: str | None = None  # a block to write to this file (`<!-- file: NAME -->` before it)
    index: int = 0  # among the runnable blocks of its page

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if ROOT in self.page.parents else self.page.name
        return f"{page}:{self.line}"


_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_FILE = re.compile(r"^\s*<!--\s*file:\s*(\S+)\s*-->\s*$")


def code_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    out: list[Block] = []
    lines = page.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(rf"^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        before = next((ln for ln in reversed(lines[:i]) if ln.strip()), "")
        named = _FILE.match(before)
        out.append(Block(page, i + 1, m["lang"].lower(), "\n".join(body), named.group(1) if named else None))
        i = j + 1
    return out


def _runnable(block: Block) -> bool:
    if block.file:
        return True
    if block.lang in SHELL:
        return any(c.args for c in shell_commands(block))
    return block.lang == "python"


def runnable_blocks(page: Path) -> list[Block]:
    blocks = [b for b in code_blocks(page) if _runnable(b)]
    for k, b in enumerate(blocks):
        b.index = k
    return blocks


def prose(page: Path) -> str:
    """The text outside fenced code blocks and inline code spans."""
    text = page.read_text(encoding="utf-8")
    for block in code_blocks(page):
        text = text.replace(block.text, "")
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def headings(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    for block in code_blocks(page):
        text = text.replace(block.text, "")
    return [m.group(2) for m in re.finditer(r"^(#{1,6})\s+(.+?)\s*#*\s*$", text, re.M)]


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for h in headings(page):
        s = slug(h)
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


# ----------------------------------------------------------------------------- shell examples
@dataclass
class Command:
    args: list[str]  # after `leadtool`
    expect: int = 0
    stdin: str | None = None
    stdout: str | None = None
    shown: list[str] = field(default_factory=list)  # output lines the docs show (console)


_EXIT = re.compile(r"#\s*exit\s+(\d+)\b")


def shell_commands(block: Block) -> list[Command]:
    """The `leadtool` commands of a shell block (continuation lines joined), each with the output
    lines a ```console block shows after it."""
    entries: list[tuple[str, list[str]]] = []
    lines = iter(block.text.split("\n"))
    for line in lines:
        if block.lang == "console" and not line.startswith("$ "):
            if entries:
                entries[-1][1].append(line)
            continue
        text = line[2:] if block.lang == "console" else line
        while text.endswith("\\"):
            text = text[:-1].rstrip() + " " + next(lines, "").strip()
        entries.append((text, []))
    return [cmd for text, output in entries for cmd in _parse(text, output, block)]


def _parse(text: str, output: list[str], block: Block) -> list[Command]:
    m = _EXIT.search(text)
    expect = int(m.group(1)) if m else 0
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError as exc:
        raise AssertionError(f"{block.where}: cannot read the command {text!r}: {exc}") from None
    parts: list[list[str]] = [[]]
    for tok in tokens:
        if tok in ("&&", ";"):
            parts.append([])
        else:
            parts[-1].append(tok)
    out = []
    for part in parts:
        if not part or part[0] != "leadtool":
            continue  # an install step, pytest, a shell builtin: not ours to run
        cmd = Command(args=[], expect=expect, shown=output)
        toks = iter(part[1:])
        for tok in toks:
            if tok == "|":
                break  # what a pipe's reader does with the output is not leadtool's
            if tok == ">":
                cmd.stdout = next(toks)
            elif tok == "<":
                cmd.stdin = next(toks)
            elif tok.startswith(("2>", ">>", "&>")):
                raise AssertionError(f"{block.where}: the docs test does not run {tok!r}; use > FILE")
            elif any(ch in tok for ch in "*?") and not tok.startswith("-"):
                cmd.args += sorted(glob.glob(tok)) or [tok]
            else:
                cmd.args.append(tok)
        out.append(cmd)
    return out


_BORDERS = set("┃│┏┓┗┛━─┡┩╇╋┼├┤└┘┌┐╭╮╰╯═║┳┻╈╂")


def _plain(text: str) -> str:
    return " ".join(text.split())


def run_shell(block: Block) -> None:
    runner = CliRunner()
    for cmd in shell_commands(block):
        stdin = Path(cmd.stdin).read_bytes() if cmd.stdin else None
        result = runner.invoke(app, cmd.args, input=stdin)
        shown = " ".join(["leadtool", *cmd.args])
        assert result.exit_code == cmd.expect, (
            f"{block.where}: `{shown}` exited {result.exit_code}, the docs say {cmd.expect}\n{result.output}")
        if cmd.stdout:
            Path(cmd.stdout).write_bytes(result.stdout_bytes)
        printed = _plain(result.output)
        for line in cmd.shown:
            if not line.strip() or _BORDERS & set(line) or "…" in line or "..." in line:
                continue
            assert _plain(line) in printed, (
                f"{block.where}: `{shown}` did not print the line the docs show:\n  {line.strip()}\n"
                f"it printed:\n{result.output}")


# ----------------------------------------------------------------------------- python examples
def _missing_names(code: str) -> list[str]:
    used = set(re.findall(r"\bleadtool\.([A-Za-z_]\w*)", code))
    for m in re.finditer(r"^\s*from leadtool import \(?([^)\n]+)\)?", code, re.M):
        used |= {n.strip().split(" as ")[0] for n in m.group(1).split(",") if n.strip()}
    return sorted(n for n in used if not hasattr(leadtool, n))


def run_python(block: Block) -> None:
    missing = _missing_names(block.text)
    unknown = [n for n in missing if n not in RENAMED]
    assert not unknown, f"{block.where}: the example uses leadtool.{unknown[0]}, which does not exist"
    if missing:
        pytest.skip(f"{block.where}: uses leadtool.{missing[0]}, the new name of leadtool.{RENAMED[missing[0]]}: "
                    "runs once the rename of the package layout (issue 12) lands")
    code = compile(block.text, block.where, "exec")
    exec(code, {"__name__": "__docs__"})


def run_block(block: Block) -> None:
    if block.file:
        Path(block.file).write_text(block.text + "\n", encoding="utf-8")
    elif block.lang in SHELL:
        run_shell(block)
    elif block.lang == "python":
        run_python(block)


# ----------------------------------------------------------------------------- the examples
EXAMPLES = [b for page in PAGES for b in runnable_blocks(page)]
_spaces: dict[Path, tuple[Path, list[int]]] = {}


def _workspace(page: Path, factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """The folder of a page's examples (a copy of samples/) and how many of its blocks ran."""
    if page not in _spaces:
        root = factory.mktemp(page.stem)
        shutil.copytree(ROOT / "samples", root / "samples", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        _spaces[page] = (root, [0])
    return _spaces[page]


@pytest.mark.parametrize("block", EXAMPLES, ids=[b.where for b in EXAMPLES])
def test_example_runs(block: Block, tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    root, ran = _workspace(block.page, tmp_path_factory)
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)  # check --format github would append to it
    monkeypatch.setenv("COLUMNS", "100")
    # the blocks before this one set the folder up (each reports its own failure in its own test)
    for earlier in [b for b in EXAMPLES if b.page == block.page][ran[0]:block.index]:
        with contextlib.suppress(Exception, pytest.skip.Exception):
            run_block(earlier)
    ran[0] = block.index + 1
    run_block(block)


def test_examples_are_found() -> None:
    """The parser sees the examples (a test of the test: zero examples would pass everything)."""
    langs = {b.lang for b in EXAMPLES}
    assert {"sh", "console", "python"} <= langs
    readme = [b for b in EXAMPLES if b.page.name == "README.md"]
    quick = shell_commands(readme[0])
    assert [c.args[0] for c in quick] == ["inspect", "merge"], "the quick start's leadtool commands"
    assert any(c.expect == 1 for b in EXAMPLES if b.lang in SHELL for c in shell_commands(b))


def test_a_wrong_exit_code_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "page.md"
    page.write_text("```sh\nleadtool check samples/leads.csv\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="exited 1, the docs say 0"):
        run_block(code_blocks(page)[0])
    page.write_text("```console\n$ leadtool check samples/leads.csv --ignore duplicates,invalid-email\n"
                    "valid: no problems in 41 records\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="did not print"):
        run_block(code_blocks(page)[0])


def _no_clock(line: str) -> str:
    return re.sub(r'"at": ?"[^"]*"', '"at": ""', line)


def test_audit_lines_shown_are_lines_the_tool_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ```jsonl examples of docs/audit.md are lines of the audit logs its first sh block
    writes, the clock aside: an event that gains or loses a key shows here."""
    page = DOCS_DIR / "audit.md"
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    run_shell(next(b for b in code_blocks(page) if b.lang == "sh"))
    written = {_no_clock(line) for log in tmp_path.glob("*.audit.jsonl")
               for line in log.read_text(encoding="utf-8").split("\n") if line}
    shown = [line for b in code_blocks(page) if b.lang == "jsonl" for line in b.text.split("\n") if line.strip()]
    events = {line.split('"event":', 1)[1].split(",", 1)[0].strip(' "') for line in shown}
    assert events == {"run", "merge", "convert", "create_customer", "skip"}
    for line in shown:
        assert _no_clock(line) in written, f"docs/audit.md shows a line the tool does not write:\n{line}"


# ----------------------------------------------------------------------------- commands and options
def _sections(page: Path, level: int = 2) -> dict[str, str]:
    """Heading text -> the text up to the next heading of the same or a higher level."""
    text = page.read_text(encoding="utf-8")
    parts = re.split(rf"^(#{{1,{level}}} .+)$", text, flags=re.M)
    return {parts[k].lstrip("#").strip(): parts[k + 1] for k in range(1, len(parts) - 1, 2)}


def _cli():
    return typer.main.get_command(app)


def _command_section(sections: dict[str, str], name: str) -> str | None:
    for heading, body in sections.items():
        if re.fullmatch(rf"`?leadtool {re.escape(name)}`?", heading):
            return body
    return None


def test_every_command_and_option_has_an_entry() -> None:
    page = DOCS_DIR / "commands.md"
    sections = _sections(page)
    text = page.read_text(encoding="utf-8")
    group = _cli()
    problems = []
    for param in group.params:
        for opt in param.opts:
            if not re.search(rf"`[^`\n]*{re.escape(opt)}(?![\w-])[^`\n]*`", text):
                problems.append(f"leadtool {opt}")
    for name, command in group.commands.items():
        body = _command_section(sections, name)
        if body is None:
            problems.append(f"command {name}: no section '## `leadtool {name}`'")
            continue
        for param in command.params:
            if param.param_type_name != "option":
                continue
            for opt in [*param.opts, *param.secondary_opts]:
                if not re.search(rf"`{re.escape(opt)}(?![\w-])", body):
                    problems.append(f"leadtool {name} {opt}")
            default = param.default
            if getattr(param, "is_flag", False) or default in (None, [], ()):
                continue
            long = max(param.opts, key=len)
            rows = [ln for ln in body.split("\n") if ln.startswith("|")]
            row = next((ln for ln in rows if re.search(rf"`{re.escape(long)}(?![\w-])", ln)), "")
            if str(default) not in row:
                problems.append(f"leadtool {name} {long}: its entry does not give the default {default!r}")
    assert not problems, "missing from docs/commands.md:\n" + "\n".join(problems)


def test_documented_options_exist() -> None:
    """An option named in an option table of a command (or anywhere in docs/) that the CLI does
    not have is documentation of something that is not there."""
    group = _cli()
    every = {o for p in group.params for o in p.opts}
    every |= {"--help"}
    problems = []
    sections = _sections(DOCS_DIR / "commands.md")
    for name, command in group.commands.items():
        mine = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        every |= mine
        body = _command_section(sections, name) or ""
        for row in re.findall(r"^\| *(`-[^|]*)\|", body, re.M):
            for opt in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", row):
                if opt not in mine:
                    problems.append(f"docs/commands.md: leadtool {name} has no option {opt}")
    for page in sorted(DOCS_DIR.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for opt in sorted(set(re.findall(r"(?<![\w/.-])(--[a-z][a-z0-9-]*)", text))):
            if opt not in every:
                problems.append(f"{page.relative_to(ROOT)}: no command has the option {opt}")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- links
_LINK = re.compile(r"\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)


def links(page: Path) -> list[str]:
    text = prose(page)
    return _LINK.findall(text) + _REF.findall(text)


def test_no_pointer_outside_the_project() -> None:
    for page in PAGES:
        assert "../shared" not in page.read_text(encoding="utf-8"), page


def test_relative_links_resolve() -> None:
    problems = []
    for page in PAGES:
        for target in links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # https:, mailto:
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if ROOT not in dest.parents and dest != ROOT:
                problems.append(f"{page.relative_to(ROOT)}: {target} leaves the project")
            elif not dest.exists():
                problems.append(f"{page.relative_to(ROOT)}: {target}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{page.relative_to(ROOT)}: {target}: no heading with that anchor")
    assert not problems, "\n".join(problems)


def test_link_checker_sees_broken_links(tmp_path: Path) -> None:
    page = DOCS_DIR / "index.md"
    assert links(page), "docs/index.md links to the other pages"
    assert slug("`leadtool merge`") == "leadtool-merge" and slug("The head: `--head`") == "the-head---head"
    odd = tmp_path / "odd.md"
    odd.write_text("# A title\n\n[x](odd.md#a-title) [y](odd.md#nope) `[z](gone.md)`\n", encoding="utf-8")
    assert links(odd) == ["odd.md#a-title", "odd.md#nope"] and anchors(odd) == {"a-title"}


def test_index_lists_every_page() -> None:
    listed = {Path(t.partition("#")[0]).name for t in links(DOCS_DIR / "index.md")}
    pages = {p.name for p in DOCS_DIR.glob("*.md")} - {"index.md"}
    assert pages <= listed, f"docs/index.md does not link {sorted(pages - listed)}"
    assert "docs/index.md" in {t.partition("#")[0] for t in links(ROOT / "README.md")}
