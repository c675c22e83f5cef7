"""Modelfiles (`gz.training`, `gazette training modelfile|create`): written and read by the documented
format (gazette.training.syntax), and sent to a real local server speaking Ollama's `/api/create` and
`/api/blobs` (tests/model_servers.py)."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gazette.app import Gazette
from gazette.cli import main, training_cmd
from gazette.errors import ConfigError, InvalidInputError, PermissionDeniedError, ProviderError
from gazette.providers import CreateProgress
from gazette.settings import load_settings
from gazette.training import ModelfileSpec, parse_modelfile, render_modelfile
from gazette.training import modelfile as modelfile_module
from gazette.training.syntax import Command, parse_commands, render_value
from tests.model_servers import ModelServer

HEADER = (
    "# Written by `gazette training modelfile`. Build it with `gazette training create NAME -f FILE`\n"
    "# or `ollama create NAME -f FILE`. Syntax: https://docs.ollama.com/modelfile\n"
)
SEED_PARAMETERS = (
    "PARAMETER num_ctx 2048\nPARAMETER num_predict 512\nPARAMETER temperature 0.7\nPARAMETER repeat_penalty 1.1\n"
)
ADAPTER_BYTES = b"GGUF\x03\x00\x00\x00" + bytes(range(256)) * 64


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def adapter(tmp_path: Path) -> Path:
    path = tmp_path / "lora" / "sky-adapter.gguf"
    path.parent.mkdir()
    path.write_bytes(ADAPTER_BYTES)
    return path


# --------------------------------------------------------------------------- writing


def test_the_default_modelfile_carries_the_seeds_8gb_settings() -> None:
    assert render_modelfile(ModelfileSpec(base="llama3.2")) == HEADER + "FROM llama3.2\n" + SEED_PARAMETERS


def test_adapter_stop_and_system_are_written_in_modelfile_syntax(adapter: Path) -> None:
    spec = ModelfileSpec(
        base="qwen2.5:7b",
        adapter=adapter,
        system='You are "terse".\nAnswer in one line.',
        num_ctx=4096,
        num_predict=-1,
        temperature=0.2,
        repeat_penalty=1.0,
        stop=["<|im_end|>", "### User: "],
    )
    assert render_modelfile(spec) == (
        HEADER
        + "FROM qwen2.5:7b\n"
        + f"ADAPTER {adapter.resolve()}\n"
        + "PARAMETER num_ctx 4096\nPARAMETER num_predict -1\nPARAMETER temperature 0.2\nPARAMETER repeat_penalty 1.0\n"
        + "PARAMETER stop <|im_end|>\n"
        + 'PARAMETER stop """### User: """\n'
        + 'SYSTEM """You are "terse".\nAnswer in one line."""\n'
    )


def test_what_is_written_reads_back_as_written(adapter: Path) -> None:
    spec = ModelfileSpec(base="llama3.2", adapter=adapter, system="Be brief.", stop=["<|eot_id|>", " x "])
    parsed = parse_modelfile(render_modelfile(spec))
    assert (parsed.base, parsed.adapter, parsed.system) == ("llama3.2", str(adapter.resolve()), "Be brief.")
    assert parsed.parameters == {
        "num_ctx": 2048,
        "num_predict": 512,
        "temperature": 0.7,
        "repeat_penalty": 1.1,
        "stop": ["<|eot_id|>", " x "],
    }


SPELLINGS = [
    # (text, prefer_triple, spelling)
    ("Be brief.", False, "Be brief."),
    ("Be brief.", True, '"""Be brief."""'),
    ('tab\tinside, ends in a quote"', False, 'tab\tinside, ends in a quote"'),
    ('a "quoted" word', False, 'a "quoted" word'),
    ("café\u00a0\u2028", False, '"""café\u00a0\u2028"""'),  # Unicode spaces at an end: quoted, to be safe
    (" x ", False, '""" x """'),
    ("\ttab first", False, '"""\ttab first"""'),
    ('"quoted" first', False, '""""quoted" first"""'),
    ("two\nlines", False, '"""two\nlines"""'),
    ("", False, '""""""'),
    ('Say "hi"', True, '"""Say "hi""""'),  # only the last three quotes close it
    ('Docstrings use """ here.', True, '"""Docstrings use """ here."""'),
    ('The last line ends in\n"""', True, '"""The last line ends in\n""""""'),
    ('a line ending in a quote"\nand one in two""\n', True, '"""a line ending in a quote"\nand one in two""\n"""'),
    ('"""', False, '"""""""""'),
    ("# not a comment\n\n  kept as written  ", True, '"""# not a comment\n\n  kept as written  """'),
]


@pytest.mark.parametrize(("text", "prefer_triple", "spelling"), SPELLINGS)
def test_a_value_is_written_bare_or_triple_quoted_and_reads_back(text: str, prefer_triple: bool, spelling: str) -> None:
    assert render_value(text, what="the text", prefer_triple=prefer_triple) == spelling
    assert [command.value for command in parse_commands(f"FROM x\nSYSTEM {spelling}\nLICENSE MIT\n")] == [
        "x",
        text,
        "MIT",
    ]


UNWRITABLE = [
    # (text, message)
    (
        'Write docstrings as\n"""\nand nothing else',
        'line 2 of the text (\'"""\') ends in """, which would end the value there (a Modelfile has no escape '
        "character): put something after those quotes on that line, or write ''' instead",
    ),
    ('first line """ \t\nsecond', 'line 1 of the text (\'first line """ \\t\') ends in """'),
    (
        "bell\x07",
        "the text contains the control character U+0007 at character 5 (line 1, column 5): remove it "
        "(a Modelfile holds only text)",
    ),
    ("ok\nnul \x00", "the text contains the control character U+0000 at character 8 (line 2, column 5)"),
    ("delete\x7f", "control character U+007F at character 7"),
    ("next line\x85", "control character U+0085 at character 10"),
    ("windows\r\nline", "control character U+000D at character 8 (line 1, column 8): write line breaks as \\n alone"),
]


@pytest.mark.parametrize(("text", "message"), UNWRITABLE)
def test_a_text_no_spelling_carries_is_refused_saying_what_to_change(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        render_value(text, what="the text")
    assert message in refused.value.message


def test_a_system_prompt_is_always_triple_quoted() -> None:
    text = render_modelfile(ModelfileSpec(base="llama3.2", system='Say "hi"'))
    assert text.endswith('\nSYSTEM """Say "hi""""\n')
    assert parse_modelfile(text).system == 'Say "hi"'


def test_a_system_prompt_with_a_line_ending_in_a_triple_quote_is_refused() -> None:
    """Modelfiles have no escape character: the prompt would end there and the rest be read as commands."""
    with pytest.raises(InvalidInputError, match=r"line 2 of the system prompt .* ends in \"\"\".*write ''' instead"):
        render_modelfile(ModelfileSpec(base="llama3.2", system='Write docstrings as\n"""\nand nothing else'))


def refused_by_the_writers_rule(text: str) -> bool:
    """The writer's rule, restated: a control character other than tab and line feed, or a line other than
    the last that ends (before spaces and tabs) in a triple quote."""
    control = any(unicodedata.category(char) == "Cc" and char not in "\t\n" for char in text)
    return control or any(line.rstrip(" \t").endswith('"""') for line in text.split("\n")[:-1])


FRAGMENTS = st.sampled_from([*'ab \t\n\n""#\r\x07\x85\u00a0\u2028é', '""', '"""', '"""', "FROM x", "SYSTEM "])
TEXTS = st.lists(FRAGMENTS, max_size=16).map("".join)


@settings(max_examples=500)
@given(TEXTS, st.booleans(), st.sampled_from(["SYSTEM", "template", "PARAMETER stop", "MESSAGE user", "License"]))
def test_every_text_reads_back_unchanged_or_is_refused_by_the_writers_rule(
    text: str, prefer_triple: bool, command: str
) -> None:
    try:
        spelling = render_value(text, what="the text", prefer_triple=prefer_triple)
    except InvalidInputError:
        assert refused_by_the_writers_rule(text)
        return
    assert not refused_by_the_writers_rule(text)
    commands = parse_commands(f"FROM x\n{command} {spelling}\n# done\nLICENSE MIT\n")
    assert [command.value for command in commands] == ["x", text, "MIT"]


@given(TEXTS)
def test_every_system_prompt_reads_back_unchanged_or_is_refused(system: str) -> None:
    try:
        text = render_modelfile(ModelfileSpec(base="llama3.2", system=system))
    except InvalidInputError:
        assert refused_by_the_writers_rule(system) or not system.strip()
        return
    assert parse_modelfile(text).system == system


BAD_SPECS: dict[str, tuple[dict[str, Any], str]] = {
    "empty base": ({"base": "  "}, "--from is empty: name a model"),
    "base with a space": ({"base": "llama 3"}, "--from 'llama 3' is not a model name"),
    "base as a path": ({"base": "/models/x.gguf"}, "is not a model name"),
    "tiny context": ({"num_ctx": 100}, "--num-ctx 100 is out of range: use 256 to 131072"),
    "huge context": ({"num_ctx": 262144}, "--num-ctx 262144 is out of range"),
    "hot temperature": ({"temperature": 2.5}, "--temperature 2.5 is out of range: use 0 to 2"),
    "no answer": ({"num_predict": 0}, "--num-predict 0 is out of range: use -2 to 131072, not 0"),
    "no penalty": ({"repeat_penalty": 0.0}, "--repeat-penalty 0.0 is out of range"),
    "NaN": ({"temperature": float("nan")}, "--temperature nan is out of range"),
    "empty stop": ({"stop": [""]}, "a stop sequence is empty"),
    "stop with a control character": ({"stop": ["\x1b["]}, "the stop sequence contains the control character U+001B"),
    "empty system": ({"system": "\n "}, "the system prompt is empty"),
    "control character": ({"system": "bell\x07"}, "the system prompt contains the control character U+0007 at"),
}


@pytest.mark.parametrize("case", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_a_bad_spec_is_refused_with_what_to_do(case: tuple[dict[str, Any], str]) -> None:
    fields, message = case
    with pytest.raises(InvalidInputError) as refused:
        render_modelfile(ModelfileSpec(**{"base": "llama3.2", **fields}))
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.gguf", "does not exist"),
        ("notes.txt", "is not a GGUF file (*.gguf): convert a LoRA adapter"),
        ("weights", "is a directory: Gazette takes one GGUF adapter file"),
    ],
)
def test_the_adapter_must_be_an_existing_gguf_file(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "notes.txt").write_text("not an adapter")
    (tmp_path / "weights").mkdir()
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        render_modelfile(ModelfileSpec(base="llama3.2", adapter=tmp_path / name))


# --------------------------------------------------------------------------- reading


def test_commands_are_read_line_by_line_with_their_values() -> None:
    text = (
        "\ufeff# a comment\n"
        "\n"
        "   # an indented comment\n"
        "FROM   llama3.2  \n"
        "parameter stop <|eot_id|>\n"
        'Parameter\tstop "User: "\n'
        'PARAMETER stop """\n"""\n'
        'TEMPLATE """{{ .System }}\n'
        "\n"
        "# kept: inside quotes\n"
        '{{ .Prompt }}"""   \n'
        "  MESSAGE User What is a Modelfile?\n"
        'message assistant "A recipe\n'
        'for a model."\n'
        'LICENSE "MIT"\n'
        'SYSTEM Plain words, with "quotes" inside"\n'
        'system """ends on its first line"""\n'
        "requires 0.6.0\n"
    )
    commands = parse_commands(text)
    assert [(c.instruction, c.name, c.role, c.value, c.line) for c in commands] == [
        ("from", None, None, "llama3.2", 4),
        ("parameter", "stop", None, "<|eot_id|>", 5),
        ("parameter", "stop", None, "User: ", 6),
        ("parameter", "stop", None, "\n", 7),
        ("template", None, None, "{{ .System }}\n\n# kept: inside quotes\n{{ .Prompt }}", 9),
        ("message", None, "user", "What is a Modelfile?", 13),
        ("message", None, "assistant", "A recipe\nfor a model.", 14),
        ("license", None, None, "MIT", 16),
        ("system", None, None, 'Plain words, with "quotes" inside"', 17),
        ("system", None, None, "ends on its first line", 18),
        ("requires", None, None, "0.6.0", 19),
    ]
    assert parse_commands(text.replace("\n", "\r\n")) == commands
    assert parse_commands(text.replace("\n", "\r")) == commands


def test_a_modelfile_becomes_the_typed_fields_of_api_create() -> None:
    parsed = parse_modelfile(
        "FROM llama3.2\n"
        "PARAMETER num_ctx 8192\nPARAMETER temperature 0.3\nPARAMETER use_mmap false\n"
        "PARAMETER stop <|eot_id|>\nPARAMETER stop </s>\nPARAMETER mirostat 1\n"
        "MESSAGE user Hello\nMESSAGE assistant Hi!\n"
        "LICENSE MIT\nLICENSE Apache-2.0\n"
        "REQUIRES 0.6.0\n"
        'system """Answer briefly.\nIn French."""\n'
        'TEMPLATE "{{ .Prompt }}"\n'
        "PARAMETER num_predict -1\nPARAMETER use_mmap TRUE\nPARAMETER top_k 40\n"
    )
    assert parsed.parameters == {
        "num_ctx": 8192,
        "temperature": 0.3,
        "use_mmap": True,
        "stop": ["<|eot_id|>", "</s>"],
        "num_predict": -1,
        "top_k": 40,
    }
    assert [message.model_dump() for message in parsed.messages] == [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi!"},
    ]
    assert (parsed.base, parsed.system, parsed.template) == ("llama3.2", "Answer briefly.\nIn French.", "{{ .Prompt }}")
    assert parsed.license == ["MIT", "Apache-2.0"]
    assert parsed.extra == {"requires": "0.6.0"}
    assert parsed.warnings == ["line 7: parameter mirostat is deprecated; Ollama ignores it"]


KNOWN = "FROM, ADAPTER, PARAMETER, TEMPLATE, SYSTEM, LICENSE, MESSAGE, DRAFT, REQUIRES, RENDERER, PARSER"
NO_FROM = "the Modelfile has no FROM line: start it with `FROM <model>`, e.g. FROM llama3.2"
NEVER_CLOSED = "the value opened with {} here is never closed: end its last line with {} (a quoted value ends at the first line that ends in its quote)"  # noqa: E501
BAD_MODELFILES = {
    "empty": ("", NO_FROM),
    "only comments": ("# FROM llama3.2\n\n", NO_FROM),
    "no FROM": ("PARAMETER num_ctx 2048\n", NO_FROM),
    "unknown instruction": (
        "FROM x\nSYSTEMS hi\n",
        f"Modelfile line 2: unknown instruction 'SYSTEMS': start the line with one of {KNOWN}, then a space",
    ),
    "no space after the instruction": ('FROM x\nSYSTEM"hi"\n', "Modelfile line 2: unknown instruction 'SYSTEM\"hi\"'"),
    "FROM without a value": ("FROM\n", "Modelfile line 1: FROM needs a value on the same line: `FROM <value>`"),
    "value on the next line": (
        "FROM x\nSYSTEM  \t\nBe brief.\n",
        "Modelfile line 2: SYSTEM needs a value on the same line: `SYSTEM <value>`",
    ),
    "PARAMETER alone": (
        "FROM x\nPARAMETER\n",
        "Modelfile line 2: PARAMETER needs a name and a value, e.g. `PARAMETER num_ctx 4096`",
    ),
    "PARAMETER without a value": (
        "FROM x\nPARAMETER num_ctx \n",
        "Modelfile line 2: PARAMETER num_ctx needs a value on the same line: `PARAMETER num_ctx <value>`",
    ),
    "MESSAGE alone": (
        "FROM x\n\nMESSAGE\n",
        "Modelfile line 3: MESSAGE needs a role (system, user or assistant) and a text: `MESSAGE user Hello`",
    ),
    "unknown role": (
        "FROM x\nMESSAGE robot hi\n",
        "Modelfile line 2: MESSAGE role 'robot' is unknown: use system, user or assistant",
    ),
    "MESSAGE without a text": (
        "FROM x\nMESSAGE user\n",
        "Modelfile line 2: MESSAGE user needs a value on the same line: `MESSAGE user <value>`",
    ),
    "unclosed triple quote": (
        'FROM x\nSYSTEM """Be brief.""\nPARAMETER num_ctx 2048\n',
        "Modelfile line 2: " + NEVER_CLOSED.format('"""', '"""'),
    ),
    "unclosed quote over lines": (
        'FROM x\n\nTEMPLATE "{{ .Prompt }}\n\nmore\n',
        "Modelfile line 3: " + NEVER_CLOSED.format('"', '"'),
    ),
    "quote closed before the end of its line": ('FROM x\nSYSTEM "a" b\n', "Modelfile line 2: the value opened with"),
    "control character": (
        "FROM x\nSYSTEM bell\x07\n",
        "Modelfile line 2: control character U+0007 at column 12: remove it (only tabs are allowed)",
    ),
    "unknown parameter": (
        "FROM x\nPARAMETER num_gqa 8\n",
        "Modelfile line 2: PARAMETER num_gqa is not a parameter Ollama knows; known: frequency_penalty, main_gpu",
    ),
    "parameter name with a dash": (
        "FROM x\nPARAMETER num-ctx 1\n",
        "Modelfile line 2: PARAMETER num-ctx is not a parameter Ollama knows",
    ),
    "not a number": (
        "FROM x\n\nPARAMETER temperature warm\n",
        "Modelfile line 3: PARAMETER temperature 'warm' is not a number",
    ),
    "not whole": (
        "FROM x\nPARAMETER num_ctx 2048.5\n",
        "Modelfile line 2: PARAMETER num_ctx '2048.5' is not a whole number",
    ),
    "out of range": (
        "FROM x\nPARAMETER num_ctx 64\n",
        "Modelfile line 2: PARAMETER num_ctx 64 is out of range: use 256 to 131072",
    ),
    "not a bool": (
        "FROM x\nPARAMETER use_mmap maybe\n",
        "Modelfile line 2: PARAMETER use_mmap 'maybe' is not true or false",
    ),
}


@pytest.mark.parametrize("case", BAD_MODELFILES.values(), ids=BAD_MODELFILES.keys())
def test_a_bad_modelfile_is_refused_naming_the_line(case: tuple[str, str]) -> None:
    text, message = case
    with pytest.raises(InvalidInputError) as refused:
        parse_modelfile(text)
    assert refused.value.message.startswith(message)
    line = re.search(r"line (\d+)", message)
    if line:
        assert refused.value.details["line"] == int(line[1])


@given(
    st.lists(st.sampled_from(["FROM x", "SYSTEM", "PARAMETER", " stop", " ", "\n", '"', '"""', "#", "\r"])).map("".join)
)
def test_any_text_is_read_or_refused_with_an_invalid_input_error(text: str) -> None:
    commands: list[Command] | InvalidInputError
    try:
        commands = parse_commands(text)
    except InvalidInputError as refused:
        commands = refused
    if isinstance(commands, InvalidInputError):
        assert commands.message.startswith("Modelfile line ")
    else:
        lines = [command.line for command in commands]
        assert lines == sorted(set(lines))


# --------------------------------------------------------------------------- gazette training modelfile


def test_modelfile_from_llama32_to_a_file_writes_from_and_num_ctx(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The acceptance criterion of issue 5, item 8."""
    target = tmp_path / "Modelfile"
    code, out, _ = run(capsys, "training", "modelfile", "--from", "llama3.2", "-o", str(target))
    assert code == 0
    text = target.read_text()
    assert "FROM llama3.2\n" in text
    assert "PARAMETER num_ctx 2048\n" in text
    assert f"Wrote {target}" in out


def test_modelfile_without_output_prints_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    system = tmp_path / "system.txt"
    system.write_text("\nYou answer in French.\n\n", encoding="utf-8")
    code, out, _ = run(
        capsys, "training", "modelfile", "--from", "mistral", "--system-file", str(system), "--num-ctx", "4096",
        "--stop", "</s>",
    )  # fmt: skip
    assert code == 0
    assert out == render_modelfile(
        ModelfileSpec(base="mistral", system="You answer in French.", num_ctx=4096, stop=["</s>"])
    )


def test_modelfile_json_names_the_file_and_its_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "training", "modelfile", "--from", "llama3.2", "-o", str(tmp_path / "M"), "--json")
    assert code == 0
    assert json.loads(out) == {"path": str(tmp_path / "M"), "modelfile": (tmp_path / "M").read_text()}
    code, out, _ = run(capsys, "training", "modelfile", "--from", "llama3.2", "--json")
    assert json.loads(out)["path"] is None


def test_modelfile_does_not_overwrite_a_file_without_force(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "Modelfile"
    target.write_text("FROM mine\n")
    code, _, err = run(capsys, "training", "modelfile", "--from", "llama3.2", "-o", str(target))
    assert (code, err) == (1, f"error: {target} exists: pass --force to overwrite it\n")
    assert target.read_text() == "FROM mine\n"
    code, _, _ = run(capsys, "training", "modelfile", "--from", "llama3.2", "-o", str(target), "--force")
    assert code == 0
    assert target.read_text().startswith(HEADER)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--system-file", "{tmp}/none.txt"], "error: system file {tmp}/none.txt does not exist"),
        (["--system-file", "{tmp}/latin1.txt"], "error: system file {tmp}/latin1.txt is not UTF-8 text"),
        (["--adapter", "{tmp}/latin1.txt"], "error: adapter {tmp}/latin1.txt is not a GGUF file"),
        (["--temperature", "9"], "error: --temperature 9.0 is out of range: use 0 to 2"),
    ],
)
def test_modelfile_mistakes_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "latin1.txt").write_bytes("Réponds en français.".encode("latin-1"))
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    code, out, err = run(capsys, "training", "modelfile", "--from", "llama3.2", *args)
    assert code == 1
    assert err.startswith(message.replace("{tmp}", str(tmp_path)))
    assert len(err.strip().splitlines()) == 1
    assert out == ""


def test_the_cli_defaults_are_the_capabilitys_defaults() -> None:
    """The CLI repeats them so that `gazette --help` need not import the capability."""
    assert (
        training_cmd.DEFAULT_NUM_CTX,
        training_cmd.DEFAULT_NUM_PREDICT,
        training_cmd.DEFAULT_TEMPERATURE,
        training_cmd.DEFAULT_REPEAT_PENALTY,
    ) == (
        modelfile_module.DEFAULT_NUM_CTX,
        modelfile_module.DEFAULT_NUM_PREDICT,
        modelfile_module.DEFAULT_TEMPERATURE,
        modelfile_module.DEFAULT_REPEAT_PENALTY,
    )


# --------------------------------------------------------------------------- creating on Ollama


@pytest.fixture
def ollama() -> Iterator[ModelServer]:
    server = ModelServer("ollama").listen()
    yield server
    server.stop()


@pytest.fixture
def gz(ollama: ModelServer, home: Path) -> Iterator[Gazette]:
    loaded = load_settings(providers={"ollama": {"url": ollama.url}, "retry_backoff_seconds": []})
    gazette = Gazette(loaded.settings, loaded=loaded)
    yield gazette
    gazette.close()


def create(gz: Gazette, name: str, text: str, base_dir: Path | None = None) -> tuple[Any, list[CreateProgress]]:
    steps: list[CreateProgress] = []
    created = gz.training.create(gz.local_owner(), name, text, base_dir=base_dir, progress=steps.append)
    return created, steps


def test_create_sends_the_modelfile_to_api_create_and_reports_each_step(gz: Gazette, ollama: ModelServer) -> None:
    text = render_modelfile(ModelfileSpec(base="llama3.2", system="Explain simply.", stop=["<|eot_id|>"]))
    created, steps = create(gz, "sky-teacher", text)
    assert ollama.seen[-1].body == {
        "model": "sky-teacher",
        "from": "llama3.2",
        "stream": True,
        "system": "Explain simply.",
        "parameters": {
            "num_ctx": 2048,
            "num_predict": 512,
            "temperature": 0.7,
            "repeat_penalty": 1.1,
            "stop": ["<|eot_id|>"],
        },
    }
    assert [step.status for step in steps] == [
        "using existing layer sha256:" + "a8" * 32,
        "creating new layer sha256:" + "5c" * 32,
        "writing manifest",
        "success",
    ]
    assert (created.name, created.base, created.ollama, created.adapter) == (
        "sky-teacher",
        "llama3.2",
        ollama.url,
        None,
    )
    assert created.steps[-1] == "success"
    assert gz.providers.resolve("sky-teacher").model == "sky-teacher:latest"
    gz.audit.flush()
    entry = gz.audit.list_entries(gz.local_owner(), event="model.create")[0]
    assert (entry.target, entry.outcome, entry.payload["base"]) == ("sky-teacher", "ok", "llama3.2")


def test_create_uploads_the_adapter_once_and_names_it_by_digest(
    gz: Gazette, ollama: ModelServer, adapter: Path, tmp_path: Path
) -> None:
    digest = f"sha256:{hashlib.sha256(ADAPTER_BYTES).hexdigest()}"
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text("FROM llama3.2\nADAPTER ./lora/sky-adapter.gguf\n")  # relative to the Modelfile
    created, steps = create(gz, "sky-lora", modelfile.read_text(), base_dir=tmp_path)
    assert created.adapter == digest
    assert ollama.blobs == {digest: ADAPTER_BYTES}
    assert ollama.seen[-1].body["adapters"] == {"sky-adapter.gguf": digest}
    uploads = [step for step in steps if step.status == "uploading sky-adapter.gguf"]
    size = len(ADAPTER_BYTES)
    assert (uploads[0].completed, uploads[-1].completed, uploads[-1].total) == (0, size, size)
    assert [(seen.method, seen.path) for seen in ollama.seen] == [
        ("HEAD", f"/api/blobs/{digest}"),
        ("POST", f"/api/blobs/{digest}"),
        ("POST", "/api/create"),
    ]
    create(gz, "sky-lora-2", modelfile.read_text(), base_dir=tmp_path)
    assert [seen.method for seen in ollama.seen[3:]] == ["HEAD", "POST"]  # the blob was there: no upload


def test_create_refuses_a_modelfile_ollama_would_refuse_before_sending_anything(
    gz: Gazette, ollama: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / "weights.gguf").write_bytes(b"GGUF")
    cases = {
        "FROM llama3.2\nPARAMETER num_ctx 10\n": "PARAMETER num_ctx 10 is out of range",
        "FROM ./weights.gguf\n": "FROM names local files (./weights.gguf)",
        "FROM weights.gguf\n": "FROM names local files (weights.gguf)",
        "FROM llama3.2\nDRAFT ./small\n": "DRAFT names local files",
        "FROM llama3.2\nADAPTER missing.gguf\n": f"adapter {tmp_path / 'missing.gguf'} does not exist",
    }
    for text, message in cases.items():
        with pytest.raises(InvalidInputError, match=re.escape(message)):
            create(gz, "x", text, base_dir=tmp_path)
    with pytest.raises(InvalidInputError, match="the model name 'no good' is not a model name"):
        create(gz, "no good", "FROM llama3.2\n")
    assert ollama.seen == []


@pytest.mark.parametrize(
    ("base", "fail", "reason", "message"),
    [
        (
            "mistral",
            None,
            "model_not_found",
            r"ollama model 'mistral' at http://127\.0\.0\.1:\d+: could not create 'x' "
            r"\(pull model manifest: file does not exist\); check the FROM line; pull it with `ollama pull mistral`",
        ),
        ("llama3.2", "stream_error", "bad_request", r"could not create 'x' \(unsupported architecture\); check the"),
        ("llama3.2", "cut", "interrupted", r"the answer broke off"),
        ("llama3.2", "server_error", "server_error", r"the server failed \(500: llama runner process"),
    ],
)
def test_create_failures_are_one_provider_error_naming_ollama_and_what_to_do(
    gz: Gazette, ollama: ModelServer, base: str, fail: Any, reason: str, message: str
) -> None:
    ollama.fail = fail
    with pytest.raises(ProviderError, match=message) as failed:
        create(gz, "x", f"FROM {base}\n")
    assert failed.value.reason == reason
    assert failed.value.details["endpoint"] == ollama.url
    gz.audit.flush()
    entry = gz.audit.list_entries(gz.local_owner(), event="model.create")[0]
    assert (entry.outcome, entry.payload["reason"]) == ("failed", reason)


def test_create_when_ollama_is_down_says_how_to_start_it(gz: Gazette, ollama: ModelServer) -> None:
    ollama.stop()
    with pytest.raises(ProviderError, match=r"cannot connect .*start it with `ollama serve`") as failed:
        create(gz, "x", "FROM llama3.2\n")
    assert failed.value.reason == "unreachable"
    assert ollama.url.removeprefix("http://") in failed.value.message


def test_create_needs_ollama_configured_and_the_admin_scope(gz: Gazette, home: Path) -> None:
    reader = gz.auth.authenticate(
        gz.auth.add_token(gz.local_owner(), name="user", user="bob", scopes=("models:use",)).token
    )
    with pytest.raises(PermissionDeniedError, match="'admin' scope"):
        gz.training.create(reader, "x", "FROM llama3.2\n")
    plain = Gazette(load_settings().settings)
    with pytest.raises(ConfigError, match="ollama is not configured: set OLLAMA_HOST"):
        plain.training.create(plain.local_owner(), "x", "FROM llama3.2\n")
    plain.close()


def test_training_create_prints_each_step_when_piped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, ollama: ModelServer, tmp_path: Path
) -> None:
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", ollama.url)
    (tmp_path / "Modelfile").write_text("FROM llama3.2\nPARAMETER mirostat 1\n")
    code, out, _ = run(capsys, "training", "create", "sky-teacher")  # ./Modelfile, as with `ollama create`
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "warning: line 2: parameter mirostat is deprecated; Ollama ignores it"
    assert lines[-3:-1] == ["writing manifest", "success"]
    assert re.fullmatch(rf"Created sky-teacher from llama3\.2 on {ollama.url} in \d+\.\d s\. .*", lines[-1])
    code, out, _ = run(capsys, "training", "create", "sky-2", "-f", str(tmp_path / "Modelfile"), "--json")
    assert code == 0
    assert json.loads(out)["name"] == "sky-2"


def test_training_create_mistakes_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, ollama: ModelServer, tmp_path: Path
) -> None:
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", ollama.url)
    code, _, err = run(capsys, "training", "create", "x", "-f", str(tmp_path / "none"))
    assert (code, err) == (1, f"error: Modelfile {tmp_path / 'none'} does not exist\n")
    (tmp_path / "Modelfile").write_text("FROM mistral\n")
    code, _, err = run(capsys, "training", "create", "x")
    assert code == 1
    assert err.startswith("error: ollama model 'mistral' at ")
    assert len(err.strip().splitlines()) == 1
