"""Training capability: Ollama Modelfiles, and models created from them on the Ollama server."""

from gazette.training.modelfile import Modelfile, ModelfileSpec, parse_modelfile, render_modelfile
from gazette.training.service import CreatedModel, Training

__all__ = ["CreatedModel", "Modelfile", "ModelfileSpec", "Training", "parse_modelfile", "render_modelfile"]
