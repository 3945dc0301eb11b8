"""sciml: declarative pipelines for scientific machine learning.

A YAML spec names a data generator, a model, a training task and evaluators; ``sciml.run`` (what
``sciml run SPEC`` calls) generates the data, trains with Lightning and evaluates, leaving a run
directory that DVC and W&B can use. This module stays light: importing it does not import torch.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sciml")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


def run(spec, overrides=(), **options):
    """Run all stages of ``spec`` (a path or a mapping); see :func:`sciml.pipelines.stages.run`."""
    from sciml.pipelines.stages import run as run_stages

    return run_stages(spec, overrides, **options)
