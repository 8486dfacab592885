"""The typed schema of each block kind: which keys it takes, of which types.

A block's attributes are validated against its schema; nested blocks and bare
entries are allowed only where `BlockKind` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ConfigDict, Field

from .fields import Device, Ref, Schema, SweepValues, Text, choice, entry

MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's seeds are 32-bit


class ExperimentBlock(Schema):
    description: Text = ""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    device: Device = "auto"
    tags: list[Text] = Field(default_factory=list)


class DatasetBlock(Schema):
    source: entry("source")
    split: entry("split") = None  # holdout(test = 0.25) when left out


class ModalityBlock(Schema):
    from_: Ref = Field(alias="from")
    type: choice("image", "sequence", "vector", "text")
    transform: list[entry("transform")] = Field(default_factory=list)
    augment: list[entry("augment")] = Field(default_factory=list)


class TrainBlock(Schema):
    epochs: int = Field(10, ge=1, le=100_000)
    batch_size: int = Field(128, ge=1)
    optimizer: entry("optimizer") = None  # adam() when left out
    schedule: entry("schedule") = None  # constant when left out
    early_stopping: entry("stopping") = None
    gradient_clip: float | None = Field(None, gt=0)
    mixed_precision: bool = False


class ModelBlock(Schema):
    input: Ref
    arch: entry("architecture")
    init: Ref | None = None  # a model whose trained weights (at the same sweep point) start this one


class FusionBlock(Schema):
    inputs: list[Ref] = Field(min_length=1)
    strategy: entry("fusion")
    encoder: entry("architecture") = None  # mlp(hidden = [64]) per modality when left out
    head: entry("architecture") = None  # a linear layer when left out


class SweepBlock(Schema):
    # Other keys name paired groups, `scale = zip(width = [..], data_fraction = [..])`,
    # or are unknown axes: the sweeps pass tells which.
    model_config = ConfigDict(extra="allow")

    seed: SweepValues = None
    width: SweepValues = None
    data_fraction: SweepValues = None


class ConditionBlock(Schema):
    # Keys are modality names, chosen by the spec; the resolve pass checks them.
    model_config = ConfigDict(extra="allow")


class ExternalBlock(Schema):
    source: entry("external")
    attributes: Text | None = None  # a CSV table of the models: model, family, provider, size, ...
    embeddings: Text | None = None  # a folder with one embeddings file per model
    # Join the models' answers to a dataset of the spec (its test examples, beside trained learners):
    # `id` names the dataset's field that holds each example's id (else the example's row, from 0).
    dataset: Ref | None = None
    id: Text | None = None


class NoAttributes(Schema):
    pass


class ReportBlock(Schema):
    path: Text | None = None
    title: Text | None = None


@dataclass(frozen=True)
class BlockKind:
    schema: type[Schema]
    label: str  # "required", "optional" or "none"
    repeatable: bool
    nested: tuple[str, ...] = ()  # kinds of nested blocks it may hold
    entries: str | None = None  # registry kind of bare entries it holds, if any


BLOCK_KINDS: dict[str, BlockKind] = {
    "experiment": BlockKind(ExperimentBlock, "optional", repeatable=False),
    "dataset": BlockKind(DatasetBlock, "required", repeatable=True),
    "modality": BlockKind(ModalityBlock, "required", repeatable=True),
    "model": BlockKind(ModelBlock, "required", repeatable=True, nested=("train",)),
    "fusion": BlockKind(FusionBlock, "required", repeatable=True, nested=("train",)),
    "train": BlockKind(TrainBlock, "none", repeatable=False),
    "sweep": BlockKind(SweepBlock, "none", repeatable=False),
    "evaluate": BlockKind(NoAttributes, "none", repeatable=False, nested=("condition",)),
    "condition": BlockKind(ConditionBlock, "required", repeatable=True),
    "metrics": BlockKind(NoAttributes, "none", repeatable=False, entries="metric"),
    "report": BlockKind(ReportBlock, "none", repeatable=False),
    "external": BlockKind(ExternalBlock, "required", repeatable=True),
}
TOP_LEVEL = tuple(kind for kind in BLOCK_KINDS if kind != "condition")
DECLARING = ("dataset", "modality", "model", "fusion", "condition", "external")  # kinds whose label is a name
