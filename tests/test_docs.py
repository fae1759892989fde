"""Every code block of README.md and docs/*.md runs, so the documentation cannot rot.

The convention, for whoever writes the docs:

* Fences are `````python``, `````sh`` or `````text``; any other fence (or one without a
  language) fails :class:`ConventionTests`.
* `````python``: the block runs as a module of its own (a fresh namespace; tracebacks
  point at the Markdown file and line).  Code under ``if __name__ == "__main__":`` does
  not run, so a block can end the way a real program does.  Then:

  - each top-level function whose parameters are all fixture names is called, in the
    order of definition, and the Deferred or coroutine it returns is awaited.  The
    fixtures: ``pubnub``, a client (uuid ``"my-uuid"``) of a ``LocalPresenceServer`` on
    loopback, fresh for each function; ``server``, that ``LocalPresenceServer``;
    ``origin``, its ``"127.0.0.1:PORT"``; ``reactor``, the global reactor.  One server
    per block, stopped (with its clients) after the block.
  - every other top-level function is a helper, and must be called while they run: a
    helper nothing calls fails the test (it would be untested text).
  - a block that defines trial ``TestCase`` classes (a base named ``...TestCase``) has
    them run with trial's runner; each must pass, and there must be a test.  In such a
    block every top-level function is code under test: a helper, whatever its
    parameters, which the tests must call.
  - a block with neither just runs (configuration, say).
  - a block whose first line is ``# path/of/a/file.py`` shows that file of the
    repository: the rest of the block must be the file's text, and the file's own test
    runs it (``tests/asyncio_program.py``: ``tests/test_asyncio_interop.py``).

* `````text`` straight after a python or sh block (blank lines may stand between) is
  that block's output: what the block printed must match it, ``...`` standing for any
  text (doctest's ``ELLIPSIS``).  Other text blocks are illustrations, not checked.
* `````sh``: a page's shell blocks run in order, in one test, as a reader would type
  them.  Each line must fit one of these rules (comments and blank lines aside):

  - ``python -m pubnub_twisted ARGS`` or ``pubnub-twisted ARGS`` (any ``python`` before
    ``-m``) runs in this process (``cli.run_command``) and must exit 0; ``--help`` and
    ``--version`` included.
  - ``demo`` is only parsed here: its tour takes seconds of waiting, and it runs in
    tests/test_cli.py and in ``.ci/wheel-smoke`` (from the installed wheel, as the
    README's Quickstart does it).
  - a ``serve`` command starts the real server in a child process, on a free port: the
    port written in the doc is replaced, in that command and in the ``127.0.0.1:PORT``
    of later ones.  It is stopped at the end of the page.
  - ``export NAME=VALUE`` sets an environment variable for the later commands.
  - a line exactly as ``.ci/run`` has it is run by CI (the README's test command).
  - ``python3 -m venv DIR && DIR/bin/pip install ... && <a command above>``: the
    install is what ``.ci/wheel-smoke`` checks (a fresh virtual environment, the built
    wheel); the command runs here.
  - anything else fails: add a rule here before documenting a new kind of command.
"""

from __future__ import annotations

import ast
import doctest
import inspect
import io
import os
import re
import shlex
import subprocess
import sys
import types
import urllib.request
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred, inlineCallbacks
from twisted.trial import reporter, runner
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pubnub_twisted.cli import build_parser, run_command
from pubnub_twisted.testing import LocalPresenceServer

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: The pages the docs must have (issue 6).
REQUIRED_PAGES = ["getting-started.md", "api.md", "testing.md", "migration.md"]
FIXTURES = frozenset({"pubnub", "server", "origin", "reactor"})
LANGUAGES = frozenset({"python", "sh", "text"})


def _relative(page: Path) -> str:
    """``page`` relative to the repository (or as it is, outside it)."""
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else str(page)


_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,})(?P<info>[^`]*)$")
_MIRROR = re.compile(r"^# (?P<path>[\w./-]+\.py)$")

Gen = Generator[Deferred[Any], Any, None]


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: its language, text and where it starts."""

    page: Path
    line: int  # the line of the block's first line of code (1-based)
    language: str
    text: str
    output: Block | None = None  # the ```text block that follows, if any

    @property
    def where(self) -> str:
        return f"{_relative(self.page)}:{self.line}"

    @property
    def mirrored(self) -> Path | None:
        """The repository file a python block shows, when its first line names one."""
        first = self.text.partition("\n")[0]
        match = _MIRROR.match(first)
        return None if match is None else ROOT / match["path"]


def parse_blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, each code block paired with the output after it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[tuple[int, int, str, str]] = []  # (opening, closing line index, language, text)
    opening = 0
    while opening < len(lines):
        match = _FENCE.match(lines[opening])
        if match is None:
            opening += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        closing = opening + 1
        while closing < len(lines) and lines[closing].strip() != fence:
            closing += 1
        body = [
            line[indent:] if line[:indent].isspace() else line
            for line in lines[opening + 1 : closing]
        ]
        found.append(
            (opening, closing, match["info"].strip(), "".join(f"{line}\n" for line in body))
        )
        opening = closing + 1
    blocks: list[Block] = []
    for number, (opening, closing, language, text) in enumerate(found):
        output = None
        if number + 1 < len(found) and language in ("python", "sh"):
            next_opening, _, next_language, next_text = found[number + 1]
            between = lines[closing + 1 : next_opening]
            if next_language == "text" and not any(line.strip() for line in between):
                output = Block(page, next_opening + 2, "text", next_text)
        blocks.append(Block(page, opening + 2, language, text, output))
    return blocks


def all_blocks() -> list[Block]:
    """Every block of every page."""
    return [block for page in PAGES for block in parse_blocks(page)]


def defines_test_cases(block: Block) -> bool:
    """Whether a python block defines a class with a base named ``...TestCase``."""
    for node in ast.walk(ast.parse(block.text)):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if name.endswith("TestCase"):
                    return True
    return False


def assert_output(case: SynchronousTestCase, block: Block, printed: str) -> None:
    """When ``block`` has an output block, what it printed must match it."""
    if block.output is None:
        return
    checker = doctest.OutputChecker()
    if not checker.check_output(block.output.text, printed, doctest.ELLIPSIS):
        case.fail(
            f"{block.where}: the output differs from {block.output.where}\n"
            f"--- documented\n{block.output.text}--- printed\n{printed}"
        )


# -- python blocks -------------------------------------------------------------


class Loaded:
    """A python block executed as a module, its functions sorted into fixture users and helpers."""

    def __init__(self, block: Block, *, trial: bool = False) -> None:
        self.block = block
        self.name = "docs_" + re.sub(r"\W", "_", block.where)
        self.module = types.ModuleType(self.name)
        self.module.__file__ = str(block.page)
        self.calls: dict[str, int] = {}
        sys.modules[self.name] = self.module
        try:
            source = "\n" * (block.line - 1) + block.text
            exec(compile(source, str(block.page), "exec"), self.module.__dict__)
        finally:
            del sys.modules[self.name]
        self.runnable: list[tuple[Callable[..., Any], list[str]]] = []
        for name, value in list(vars(self.module).items()):
            if not isinstance(value, types.FunctionType) or value.__module__ != self.name:
                continue
            parameters = list(inspect.signature(value).parameters.values())
            names = [parameter.name for parameter in parameters]
            plain = all(
                parameter.kind is parameter.POSITIONAL_OR_KEYWORD for parameter in parameters
            )
            if plain and set(names) <= FIXTURES and not trial:
                self.runnable.append((value, names))
            else:
                self.calls[name] = 0
                setattr(self.module, name, self._counting(name, value))

    def _counting(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return function(*args, **kwargs)

        return counted

    def test_cases(self) -> list[type[SynchronousTestCase]]:
        """The trial test case classes the block defines."""
        return [
            value
            for value in vars(self.module).values()
            if isinstance(value, type)
            and issubclass(value, SynchronousTestCase)
            and value.__module__ == self.name
        ]

    def check_helpers(self, case: SynchronousTestCase) -> None:
        never = sorted(name for name, count in self.calls.items() if count == 0)
        if never:
            case.fail(
                f"{self.block.where}: never called: {', '.join(never)}() (a function whose "
                f"parameters are not all fixtures {sorted(FIXTURES)} must be called by one "
                "that is, or by the block's tests)"
            )


class PythonBlockTests(TestCase):
    """Each python block of the docs runs; its fixture functions succeed (generated methods)."""

    timeout = 20

    @inlineCallbacks
    def run_block(self, block: Block) -> Gen:
        printed = io.StringIO()
        self.patch(sys, "stdout", printed)
        loaded = Loaded(block)
        self.assertEqual(loaded.test_cases(), [], f"{block.where}: routed as a function block")
        server: LocalPresenceServer | None = None
        for function, names in loaded.runnable:
            if server is None and set(names) & {"pubnub", "server", "origin"}:
                server = LocalPresenceServer.start(reactor)
                self.addCleanup(server.stop)
            fixtures: dict[str, Any] = {"reactor": reactor}
            if server is not None:
                fixtures.update(server=server, origin=server.origin)
                if "pubnub" in names:
                    fixtures["pubnub"] = server.client("my-uuid")
            outcome = function(**{name: fixtures[name] for name in names})
            if inspect.iscoroutine(outcome):
                outcome = ensureDeferred(outcome)
            if isinstance(outcome, Deferred):
                yield outcome
        loaded.check_helpers(self)
        assert_output(self, block, printed.getvalue())


class TrialBlockTests(SynchronousTestCase):
    """Each block of the docs that defines trial tests: they all pass (generated methods)."""

    def run_block(self, block: Block) -> None:
        printed = io.StringIO()
        self.patch(sys, "stdout", printed)
        loaded = Loaded(block, trial=True)
        classes = loaded.test_cases()
        self.assertNotEqual(classes, [], f"{block.where}: no trial TestCase defined")
        result = reporter.TestResult()
        loader = runner.TestLoader()
        for case_class in classes:
            loader.loadClass(case_class).run(result)
        problems = [
            f"{test}: {failure if isinstance(failure, str) else failure.getTraceback()}"
            for test, failure in result.errors + result.failures
        ]
        if problems:
            self.fail(f"{block.where}: its tests failed\n" + "\n".join(problems))
        self.assertGreater(result.testsRun, 0, f"{block.where}: ran no test")
        self.assertTrue(result.wasSuccessful(), f"{block.where}: {result}")
        loaded.check_helpers(self)
        assert_output(self, block, printed.getvalue())


# -- shell blocks -----------------------------------------------------------------


def ci_lines() -> set[str]:
    """The command lines of ``.ci/run``."""
    return {line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()}


def _is_python(word: str) -> bool:
    return os.path.basename(word).startswith("python")


def cli_arguments(words: list[str]) -> list[str] | None:
    """The arguments of a ``python -m pubnub_twisted`` / ``pubnub-twisted`` command, or None."""
    if words and os.path.basename(words[0]) == "pubnub-twisted":
        return words[1:]
    if len(words) >= 3 and _is_python(words[0]) and words[1:3] == ["-m", "pubnub_twisted"]:
        return words[3:]
    return None


def _is_setup(words: list[str]) -> bool:
    """``python3 -m venv DIR`` or ``DIR/bin/pip install ...``."""
    venv = len(words) == 4 and _is_python(words[0]) and words[1:3] == ["-m", "venv"]
    pip = len(words) >= 2 and words[0].endswith("/bin/pip") and words[1] == "install"
    return venv or pip


def shell_commands(line: str) -> list[list[str]] | None:
    """The commands of a line to run here (``[]``: CI runs it), or None when no rule fits."""
    if line in ci_lines():
        return []
    words = shlex.split(line, comments=True)
    segments: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            segments.append([])
        else:
            segments[-1].append(word)
    *setup, last = segments
    if not all(_is_setup(segment) for segment in setup):
        return None
    if last[:1] == ["export"] and not setup:
        return [last]
    return [last] if cli_arguments(last) is not None else None


class Environment:
    """Environment variables set by ``export`` lines, applied while a command is parsed."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    @contextmanager
    def applied(self) -> Iterator[None]:
        saved = {name: os.environ.get(name) for name in self.values}
        os.environ.update(self.values)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


class ShellBlockTests(TestCase):
    """Each page's shell blocks run in order as a reader would type them (generated methods)."""

    timeout = 30

    def serve(self, arguments: list[str], origins: dict[str, str]) -> None:
        """Start ``serve`` in a child process on a free port; map the doc's origin to it."""
        documented = "8090"
        if "--port" in arguments:
            at = arguments.index("--port") + 1
            documented, arguments = arguments[at], [*arguments[:at], "0", *arguments[at + 1 :]]
        child = subprocess.Popen(
            [sys.executable, "-m", "pubnub_twisted", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(self.stop_child, child)
        assert child.stdout is not None
        first = child.stdout.readline()
        self.assertTrue(first.startswith("listening on http://"), first)
        url = first.split()[-1]
        # An answer means the child's reactor runs, with its SIGTERM handler: serve prints
        # its address just before that, and a SIGTERM in between would kill it outright.
        with urllib.request.urlopen(f"{url}/time/0", timeout=10) as answer:
            self.assertEqual(answer.status, 200)
        host = arguments[arguments.index("--host") + 1] if "--host" in arguments else "127.0.0.1"
        origins[f"{host}:{documented}"] = url.removeprefix("http://")

    def stop_child(self, child: subprocess.Popen[str]) -> None:
        child.terminate()
        _, err = child.communicate(timeout=10)
        self.assertEqual(child.returncode, 0, err)

    @inlineCallbacks
    def run_cli(self, arguments: list[str], environment: Environment) -> Generator[Any, Any, str]:
        """Run one command in this process; return what it printed (it must exit 0)."""
        out, err = io.StringIO(), io.StringIO()
        usage = io.StringIO()
        with environment.applied(), redirect_stdout(usage):
            try:
                args = build_parser().parse_args(arguments)
            except SystemExit as exit_:  # --help, --version
                self.assertEqual(exit_.code, 0, f"{arguments}: {usage.getvalue()}")
                return usage.getvalue()
        if args.command == "demo":  # parsed only: see the module docstring
            return ""
        code = yield ensureDeferred(run_command(reactor, args, out, err))
        self.assertEqual((code, err.getvalue()), (0, ""), f"{arguments}")
        return out.getvalue()

    @inlineCallbacks
    def run_page(self, page: Path) -> Gen:
        environment = Environment()
        origins: dict[str, str] = {}
        for block in parse_blocks(page):
            if block.language != "sh":
                continue
            printed = io.StringIO()
            for number, raw in enumerate(block.text.replace("\\\n", " ").splitlines()):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                commands = shell_commands(line)
                where = f"{block.where} (+{number})"
                self.assertIsNotNone(commands, f"{where}: no rule to test {line!r}")
                for words in commands or []:
                    if words[0] == "export":
                        name, _, value = words[1].partition("=")
                        environment.values[name] = self.localize(value, origins)
                        continue
                    arguments = [
                        self.localize(word, origins) for word in cli_arguments(words) or []
                    ]
                    if arguments[:1] == ["serve"]:
                        self.serve(arguments, origins)
                    else:
                        printed.write((yield self.run_cli(arguments, environment)))
            assert_output(self, block, printed.getvalue())

    @staticmethod
    def localize(word: str, origins: dict[str, str]) -> str:
        for documented, actual in origins.items():
            word = word.replace(documented, actual)
        return word


# -- generated tests ----------------------------------------------------------------


def _slug(page: Path) -> str:
    return re.sub(r"\W", "_", str(page.relative_to(ROOT)).removesuffix(".md")).lower()


def _generate() -> None:
    """Add one test method per python block, and one per page with shell blocks."""
    for page in PAGES:
        blocks = parse_blocks(page)
        for block in blocks:
            if block.language != "python" or block.mirrored is not None:
                continue
            trial = defines_test_cases(block)
            case_class: Any = TrialBlockTests if trial else PythonBlockTests

            def method(self: Any, block: Block = block) -> Any:
                return self.run_block(block)

            what = "its trial tests pass" if trial else "the python block runs"
            method.__doc__ = f"{block.where}: {what}."
            method.__name__ = f"test_{_slug(page)}_line_{block.line}"
            setattr(case_class, method.__name__, method)
        if any(block.language == "sh" for block in blocks):

            def shell(self: Any, page: Path = page) -> Any:
                return self.run_page(page)

            shell.__doc__ = f"{page.relative_to(ROOT)}: its shell commands run and succeed."
            shell.__name__ = f"test_{_slug(page)}"
            setattr(ShellBlockTests, shell.__name__, shell)


_generate()


class ConventionTests(SynchronousTestCase):
    """The docs follow the convention this module's docstring describes."""

    def test_pages_exist(self) -> None:
        """docs/ has every page the issue asks for, each with python examples."""
        for name in REQUIRED_PAGES:
            blocks = parse_blocks(ROOT / "docs" / name)
            self.assertTrue(any(block.language == "python" for block in blocks), name)

    def test_languages(self) -> None:
        """Every fence names python, sh or text, so none escapes the tests unnoticed."""
        strays = [
            f"{block.where}: {block.language!r}"
            for block in all_blocks()
            if block.language not in LANGUAGES
        ]
        self.assertEqual(strays, [])

    def test_every_block_is_tested(self) -> None:
        """Each python block has a generated test, or mirrors a file a test runs."""
        generated = set(vars(PythonBlockTests)) | set(vars(TrialBlockTests))
        for block in all_blocks():
            if block.language != "python":
                continue
            if block.mirrored is not None:
                continue
            self.assertIn(f"test_{_slug(block.page)}_line_{block.line}", generated, block.where)

    def test_mirrored_files(self) -> None:
        """A block that names a file shows that file exactly."""
        mirrors = [block for block in all_blocks() if block.mirrored is not None]
        self.assertNotEqual(mirrors, [], "the asyncio program is shown in the docs")
        for block in mirrors:
            assert block.mirrored is not None
            shown = block.text.partition("\n")[2]
            self.assertEqual(shown, block.mirrored.read_text(encoding="utf-8"), block.where)

    def test_parser(self) -> None:
        """Blocks, their first code line, indented fences and output pairing are read right."""
        page = Path(self.mktemp())
        page.write_text(
            "x\n```python\nprint(1)\n```\n\n```text\n1\n```\n* item\n\n   ```sh\n   ls\n   ```\n"
        )
        code, output, shell = parse_blocks(page)
        self.assertEqual((code.line, code.text, code.output), (3, "print(1)\n", output))
        self.assertEqual((output.line, output.text), (7, "1\n"))
        self.assertEqual((shell.language, shell.text, shell.output), ("sh", "ls\n", None))

    def test_shell_rules(self) -> None:
        """Shell lines: CLI commands run, CI's lines and installs pass, others have no rule."""
        self.assertEqual(
            shell_commands("python -m pubnub_twisted demo"),
            [["python", "-m", "pubnub_twisted", "demo"]],
        )
        self.assertEqual(
            shell_commands(
                "python3 -m venv .venv && .venv/bin/pip install -q . && pubnub-twisted --version"
            ),
            [["pubnub-twisted", "--version"]],
        )
        self.assertEqual(shell_commands("export PUBNUB_UUID=me"), [["export", "PUBNUB_UUID=me"]])
        for line in ci_lines():
            if line and not line.startswith("#"):
                self.assertEqual(shell_commands(line), [])
        self.assertIsNone(shell_commands("rm -rf /tmp/x"))
        self.assertIsNone(shell_commands("curl http://127.0.0.1:8090/time/0"))
        self.assertIsNone(shell_commands("python3 -m venv .venv && rm -rf x"))

    def test_quickstart_is_what_ci_runs(self) -> None:
        """README's Quickstart test command is exactly the one .ci/run runs."""
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        quickstart = readme.partition("## Quickstart")[2].partition("\n## ")[0]
        commands = [
            line.strip()
            for block in parse_blocks(ROOT / "README.md")
            if block.language == "sh" and block.text in quickstart
            for line in block.text.splitlines()
        ]
        tests = [command for command in commands if "twisted.trial" in command]
        self.assertEqual(len(tests), 1, commands)
        self.assertIn(tests[0], ci_lines())
        demo = [command for command in commands if command.endswith("pubnub_twisted demo")]
        self.assertEqual(len(demo), 1, commands)
        self.assertIn("-m pubnub_twisted demo", (ROOT / ".ci" / "wheel-smoke").read_text())

    def test_readme_links_every_page(self) -> None:
        """README's Documentation section links every page of docs/."""
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        section = readme.partition("## Documentation")[2].partition("\n## ")[0]
        for page in PAGES[1:]:
            self.assertIn(f"](docs/{page.name})", section)
