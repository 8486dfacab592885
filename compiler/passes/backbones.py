"""Pass 5b: pretrained backbones — their files, layers and modalities, where the files tell.

The compiler reads no file: `Options.backbone(library, params)` (given by the
runtime's `check` and `run`) says what a backbone's folder holds, or None when
it is not there. Without that callback only what the spec itself says is checked.
"""

from __future__ import annotations

from homog.dsl.diagnostics import Related, suggestion_hint

from .. import codes
from ..context import Call, Context, Declared
from .typecheck import _key_value_span, _modality_of

_GET = {
    "hf": "save it there with `model.save_pretrained(path)` and its tokenizer or image processor, or on "
    "a machine with the network, `huggingface-cli download NAME --local-dir PATH`; or set download = true",
    "timm": "save it there with `timm.models.save_for_hf(model, path)` (config.json and model.safetensors)",
    "torchvision": "save it there with `homog.runtime.backbones.vision.save_torchvision(model, name, path)`",
    "module": "give the path of a safetensors file of the module's state dict",
}


def check_backbones(ctx: Context) -> None:
    backbone_models: dict[str, Declared] = {}
    for model in ctx.of_kind("model"):
        call = ctx.call(model.data.arch) if model.data is not None else None
        if call is None or not call.entry.backbone:
            continue
        modality = _modality_of(ctx, model.data.input)
        if modality is not None:
            backbone_models[model.name] = model
            _files(ctx, call, modality)
    for fusion in ctx.of_kind("fusion"):
        for invocation in (fusion.data.encoder, fusion.data.head) if fusion.data is not None else ():
            call = ctx.call(invocation)
            if call is not None and call.entry.backbone:
                ctx.report(
                    codes.BACKBONE_IN_FUSION,
                    f"the backbone '{call.entry.name}' cannot be the encoder or head "
                    f"of fusion '{fusion.name}'",
                    invocation.name_span,
                    hint="declare a model per modality with the backbone, and fuse those models' outputs "
                    "(a late fusion such as strategy = mean)",
                )
    _conditions(ctx, backbone_models)
    _inits(ctx)


def _inits(ctx: Context) -> None:
    """`init = NAME`: a torch model of the same architecture entry, and no cycle of them."""
    edges: dict[str, str] = {}
    for model in ctx.of_kind("model"):
        data = model.data
        if data is None or data.init is None:
            continue
        source = ctx.references.get(id(data.init))
        mine, theirs = ctx.call(data.arch), ctx.call(source.data.arch) if source and source.data else None
        if mine is None or theirs is None:
            continue
        if mine.entry.backend != "torch" or mine.entry.name != theirs.entry.name:
            ctx.report(
                codes.INIT_MISMATCH,
                f"'{model.name}' ({mine.entry.name}) cannot start from the weights of "
                f"'{source.name}' ({theirs.entry.name})",
                data.init.span,
                hint="initialise a torch model from a model of the same architecture",
                related=(Related(source.data.arch.span, f"'{source.name}' is declared here"),),
            )
            continue
        edges[model.name] = source.name
    reported: set[str] = set()
    for start in edges:
        seen, name = [start], edges[start]
        while name in edges and name not in seen:
            seen.append(name)
            name = edges[name]
        if name in seen and not reported & set(seen):
            cycle = seen[seen.index(name) :]
            reported |= set(cycle)
            model = ctx.names[cycle[0]]
            ctx.report(
                codes.INIT_CYCLE,
                "models initialise each other in a cycle: " + " -> ".join([*cycle, cycle[0]]),
                model.data.init.span,
                hint="one model of the chain must start from its own initial weights: remove its init",
            )


def _files(ctx: Context, call: Call, modality: Declared) -> None:
    entry, invocation = call.entry, call.invocation
    params = call.params.model_dump()
    probe = ctx.options.backbone if ctx.options is not None else None
    if probe is None or params.get("path") is None:
        return
    found = probe(entry.backbone, params)
    path_span = invocation.spans.get(("path",), invocation.span)
    if found is None:
        where = "on this machine" if params.get("download") else "on this machine (download = false)"
        ctx.report(
            codes.BACKBONE_MISSING,
            f"the {entry.name} backbone '{params['path']}' is not {where}",
            path_span,
            hint=_GET[entry.backbone],
        )
        return
    kind = found.get("modality")
    if kind is not None and modality.data.type != kind:
        ctx.report(
            codes.BACKBONE_MODALITY,
            f"'{params['path']}' is a {kind} model, and modality '{modality.name}' is {modality.data.type}",
            invocation.name_span,
            hint=f"give this backbone a {kind} modality, or choose a {modality.data.type} backbone",
            related=(Related(_key_value_span(modality, "type"), f"'{modality.name}' is declared here"),),
        )
    layers = found.get("layers")
    if layers is not None and params["layer"] not in layers:
        shown = ", ".join(f"'{name}'" for name in layers[:8]) + (", ..." if len(layers) > 8 else "")
        ctx.report(
            codes.UNKNOWN_BACKBONE_LAYER,
            f"'{params['path']}' has no layer '{params['layer']}'",
            invocation.spans.get(("layer",), invocation.span),
            hint=suggestion_hint(params["layer"], layers, "layers") or f"its layers: {shown}",
        )


def _conditions(ctx: Context, backbone_models: dict[str, Declared]) -> None:
    """A shift of raw images or text before a backbone's preprocessing is not defined yet: refused."""
    reads = {model.data.input.name: name for name, model in backbone_models.items()}
    for evaluate in ctx.of_kind("evaluate"):
        for condition in evaluate.nested:
            named = {t.name for t in condition.targets} if condition.targets else None
            applies = [n for n in backbone_models if named is None or n in named]
            for modality, invocation in condition.shifts.items():
                model = reads.get(modality)
                if model is not None and model in applies:
                    _shifted(ctx, condition, model, invocation.span)
            if condition.domain is not None and applies:
                _shifted(ctx, condition, applies[0], condition.domain.span)


def _shifted(ctx: Context, condition: Declared, model: str, span) -> None:
    ctx.report(
        codes.BACKBONE_SHIFTED,
        f"condition '{condition.name}' shifts what the pretrained backbone of '{model}' reads",
        span,
        hint="conditions on backbones' inputs are not supported yet: name the other learners with "
        "learners = [...] in the condition",
    )
