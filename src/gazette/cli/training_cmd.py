"""`gazette training`: Ollama Modelfiles, and models created from them on the Ollama server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

if TYPE_CHECKING:
    from gazette.providers import CreateProgress

app = typer.Typer(help="Models of your own on Ollama: Modelfiles, and models created from them.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
# The seed's defaults for a card with 8 GB of VRAM (gazette.training.modelfile).
DEFAULT_NUM_CTX = 2048
DEFAULT_NUM_PREDICT = 512
DEFAULT_TEMPERATURE = 0.7
DEFAULT_REPEAT_PENALTY = 1.1


@app.command("modelfile")
def modelfile(
    ctx: typer.Context,
    base: Annotated[str, typer.Option("--from", help="The model to build on, as Ollama names it (llama3.2).")],
    adapter: Annotated[Path | None, typer.Option("--adapter", help="A LoRA adapter file in GGUF (*.gguf).")] = None,
    system_file: Annotated[
        Path | None, typer.Option("--system-file", help="A UTF-8 text file with the system prompt.")
    ] = None,
    num_ctx: Annotated[int, typer.Option("--num-ctx", help="Context window in tokens (256-131072).")] = DEFAULT_NUM_CTX,
    num_predict: Annotated[
        int, typer.Option("--num-predict", help="Longest answer in tokens; -1 no limit.")
    ] = DEFAULT_NUM_PREDICT,
    temperature: Annotated[float, typer.Option("--temperature", help="0-2.")] = DEFAULT_TEMPERATURE,
    repeat_penalty: Annotated[
        float, typer.Option("--repeat-penalty", help="Penalty for repeating tokens; 1.0 disables it.")
    ] = DEFAULT_REPEAT_PENALTY,
    stop: Annotated[list[str] | None, typer.Option("--stop", help="A stop sequence (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (else stdout).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --output file if it exists.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write an Ollama Modelfile; the defaults suit a card with 8 GB of VRAM."""
    from gazette.errors import ConflictError
    from gazette.training.modelfile import ModelfileSpec, read_text_file

    gz = cli_context(ctx).gazette()
    system = read_text_file(system_file, "system file") if system_file else None
    spec = ModelfileSpec(
        base=base, adapter=adapter, system=system, num_ctx=num_ctx, num_predict=num_predict,
        temperature=temperature, repeat_penalty=repeat_penalty, stop=stop or [],
    )  # fmt: skip
    text = gz.training.modelfile(spec)
    if output is not None:
        try:
            with output.open("w" if force else "x", encoding="utf-8") as file:
                file.write(text)
        except FileExistsError:
            message = f"{output} exists: pass --force to overwrite it"
            raise ConflictError(message, details={"path": str(output)}) from None
    if as_json:
        print_json({"path": str(output) if output else None, "modelfile": text})
    elif output is None:
        sys.stdout.write(text)
    else:
        console.print(f"Wrote {output}. Create the model with: gazette training create NAME -f {output}", markup=False)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new model (model[:tag]).")],
    file: Annotated[Path, typer.Option("--file", "-f", help="The Modelfile.")] = Path("Modelfile"),
    as_json: JsonOption = False,
) -> None:
    """Create a model on the Ollama server from a Modelfile (Ollama's /api/create), showing its progress."""
    from gazette.training.modelfile import read_text_file

    gz = cli_context(ctx).gazette()
    text = read_text_file(file, "Modelfile")
    principal, directory = gz.local_owner(), file.expanduser().resolve().parent
    if as_json:
        created = gz.training.create(principal, name, text, base_dir=directory)
    elif sys.stdout.isatty():
        with console.status(f"creating {name}") as status:

            def show(step: CreateProgress) -> None:
                status.update(_describe(step))

            created = gz.training.create(principal, name, text, base_dir=directory, progress=show)
    else:
        shown: list[str] = []

        def say(step: CreateProgress) -> None:
            if step.status and step.status not in shown[-1:]:
                shown.append(step.status)
                console.print(step.status, markup=False, highlight=False)

        created = gz.training.create(principal, name, text, base_dir=directory, progress=say)
    if as_json:
        print_json(created.model_dump(mode="json"))
        return
    console.print(
        f"Created {created.name} from {created.base} on {created.ollama} in {created.seconds:.1f} s. "
        f"Try it: ollama run {created.name}",
        markup=False,
    )


def _describe(step: CreateProgress) -> str:
    if step.total and step.completed is not None:
        return f"{step.status} ({step.completed * 100 // step.total}% of {step.total / 2**20:.1f} MiB)"
    return step.status
