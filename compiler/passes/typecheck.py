"""Pass 5: types of the experiment — shapes, modality types, fusion inputs, metric needs."""

from __future__ import annotations

from homog.dsl.diagnostics import Related

from .. import codes
from ..context import Context, Declared
from ..values import Symbol

_RANKS = {"vector": (1,), "sequence": (2,), "image": (2, 3)}


def typecheck(ctx: Context) -> None:
    for modality in ctx.of_kind("modality"):
        _modality_shape(ctx, modality)
        _augment_types(ctx, modality)
    learners = [d for d in ctx.blocks if d.kind in ("model", "fusion")]
    if not learners and not ctx.of_kind("external") and not ctx.failed:
        ctx.report(
            codes.NOTHING_TO_COMPARE,
            "the spec declares no model and no fusion: there is nothing to compare",
            ctx.document.blocks[0].kind.span if ctx.document.blocks else None,
            hint="declare a learner, as in model mlp { input = pixels, arch = mlp() }",
        )
    for model in ctx.of_kind("model"):
        _model_input(ctx, model)
    for fusion in ctx.of_kind("fusion"):
        _fusion_inputs(ctx, fusion)
    _late_fusion_cycles(ctx)
    reported: set[tuple[int, str]] = set()
    for learner in learners:
        _early_stopping(ctx, learner, reported)
    _conditions(ctx)
    _representations(ctx)
    if not ctx.failed:  # an unresolved reference would make its target look unused
        _unused(ctx)


def _modality_of(ctx: Context, symbol: Symbol) -> Declared | None:
    target = ctx.references.get(id(symbol))
    return target if target is not None and target.kind == "modality" and target.data else None


def _modality_shape(ctx: Context, modality: Declared) -> None:
    data = modality.data
    if data is None:
        return
    ctx.shapes[modality.name] = None
    dataset = ctx.references.get(id(data.from_))
    source = ctx.call(dataset.data.source) if dataset is not None and dataset.data else None
    if source is None or source.entry.fields is None or len(data.from_.parts) != 2:
        return
    info = source.entry.fields.get(data.from_.parts[1])
    if info is None or info.shape is None or info.is_label:
        return
    shape = info.shape
    for invocation in data.transform:
        call = ctx.call(invocation)
        if call is None or call.entry.shape_rule is None:
            continue
        result = call.entry.shape_rule(shape, call.params)
        if isinstance(result, str):
            ctx.report(
                codes.SHAPE_MISMATCH,
                f"in modality '{modality.name}': {result}",
                invocation.span,
                hint=f"each example of '{data.from_.name}' has shape {_shape(shape)} at this point",
            )
            return
        shape = result
    ctx.shapes[modality.name] = shape
    if len(shape) not in _RANKS.get(data.type, ()):
        ctx.report(
            codes.SHAPE_MISMATCH,
            f"modality '{modality.name}' is declared {data.type}, "
            f"but its examples have shape {_shape(shape)}",
            _key_value_span(modality, "type"),
            hint=_type_for_shape(shape, data.type),
        )


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _type_for_shape(shape: tuple[int, ...], declared: str) -> str:
    if len(shape) == 1:
        return "declare type = vector"
    if declared == "vector":
        return "add 'flatten' to the transforms, or declare type = image"
    return "declare type = image or sequence to match the shape"


def _key_value_span(declared: Declared, key: str):
    for member in declared.block.members:
        if getattr(getattr(member, "key", None), "text", None) == key:
            return member.value.span
    return declared.name_span


def _augment_types(ctx: Context, modality: Declared) -> None:
    if modality.data is None:
        return
    for invocation in modality.data.augment:
        _accepts(ctx, invocation, modality, "augmentation")


def _accepts(ctx: Context, invocation, modality: Declared, role: str) -> bool:
    call = ctx.call(invocation)
    if call is None or modality.data is None:
        return True
    kind = modality.data.type
    if kind in call.entry.accepts:
        return True
    ctx.report(
        codes.INCOMPATIBLE_MODALITY,
        f"the {role} '{call.entry.name}' cannot take the {kind} modality '{modality.name}'",
        invocation.name_span,
        hint=f"'{call.entry.name}' takes {' or '.join(sorted(call.entry.accepts))} modalities"
        + ("; add 'flatten' to the modality's transforms" if "vector" in call.entry.accepts else ""),
        related=(Related(_key_value_span(modality, "type"), f"'{modality.name}' is declared {kind} here"),),
    )
    return False


def _model_input(ctx: Context, model: Declared) -> None:
    if model.data is None:
        return
    modality = _modality_of(ctx, model.data.input)
    if modality is not None:
        _accepts(ctx, model.data.arch, modality, "architecture")


def _fusion_inputs(ctx: Context, fusion: Declared) -> None:
    data = fusion.data
    if data is None:
        return
    targets = [ctx.references.get(id(symbol)) for symbol in data.inputs]
    if any(t is None for t in targets):
        return
    kinds = {"modality" if t.kind == "modality" else "learner" for t in targets}
    inputs_span = _key_value_span(fusion, "inputs")
    if len(kinds) > 1:
        ctx.report(
            codes.MIXED_FUSION_INPUTS,
            f"fusion '{fusion.name}' mixes modalities and learners",
            inputs_span,
            hint="fuse modalities (early or intermediate fusion) or learners' outputs (late), not both",
        )
        return
    _fusion_datasets(ctx, fusion, targets)
    if len(data.inputs) < 2:
        ctx.report(
            codes.TOO_FEW_INPUTS,
            f"fusion '{fusion.name}' has {len(data.inputs)} input; fusion needs at least two",
            inputs_span,
            hint="add another input, or declare a model instead",
        )
    strategy = ctx.call(data.strategy)
    if strategy is None:
        return
    fuses_learners = kinds == {"learner"}
    if strategy.entry.late != fuses_learners:
        options = [e.name for e in ctx.registry.entries("fusion") if e.late == fuses_learners]
        ctx.report(
            codes.STRATEGY_MISMATCH,
            f"'{strategy.entry.name}' fuses {'learners' if strategy.entry.late else 'modalities'}, "
            f"but the inputs of '{fusion.name}' are {'learners' if fuses_learners else 'modalities'}",
            data.strategy.name_span,
            hint=f"use {'a late' if fuses_learners else 'an intermediate'} strategy: " + ", ".join(options),
        )
        return
    if fuses_learners:
        late_inputs = [t for t in targets if t.kind == "fusion" and _is_late(ctx, t)]
        if strategy.entry.name == "weighted" and late_inputs:
            ctx.report(
                codes.STRATEGY_MISMATCH,
                f"'weighted' learns its weights from its inputs' fits; the late fusion "
                f"'{late_inputs[0].name}' has none",
                data.strategy.name_span,
                hint="fuse the learners under the late fusion directly, or use mean or vote",
            )
        for key in ("encoder", "head"):
            if getattr(data, key) is not None:
                ctx.report(
                    codes.MISPLACED_MEMBER,
                    f"late fusion '{fusion.name}' takes no '{key}': it combines trained learners' outputs",
                    getattr(data, key).span,
                    hint=f"remove '{key}'",
                )
        return
    for target in targets:
        if data.encoder is not None:
            _accepts(ctx, data.encoder, target, "encoder")
    head = ctx.call(data.head)
    if head is not None and (head.entry.backend != "torch" or "vector" not in head.entry.accepts):
        ctx.report(
            codes.INCOMPATIBLE_MODALITY,
            f"the head of '{fusion.name}' must be a torch network that takes a vector",
            data.head.name_span,
            hint="use mlp(hidden = [...]) as the head",
        )


def _early_stopping(ctx: Context, learner: Declared, reported: set[tuple[int, str]]) -> None:
    """Early stopping watches the validation split; a dataset without one would silently train every
    epoch. Reported where the learner's stopping rule is set (its own train block, else the shared one)."""
    if learner.data is None or not _trains_with_torch(ctx, learner):
        return
    own = next((n for n in learner.nested if n.kind == "train"), None)
    layer = next(
        (t for t in (own, ctx.one("train")) if t and t.data and "early_stopping" in t.data.model_fields_set),
        None,
    )
    if layer is None or layer.data.early_stopping is None:
        return
    name = tested_on(ctx, learner)
    dataset = ctx.names.get(name) if name else None
    if dataset is None or dataset.kind != "dataset" or dataset.data is None:
        return
    if dataset.data.split is None:
        validation, kind = 0.0, "holdout"
        related = Related(dataset.name_span, f"'{dataset.name}' has no split: holdout(test = 0.25), alone")
    else:
        split = ctx.call(dataset.data.split)
        if split is None:
            return
        validation, kind = split.params.validation, split.entry.name
        related = Related(dataset.data.split.span, f"'{dataset.name}' is split here, with no validation part")
    if validation > 0 or (id(layer), dataset.name) in reported:
        return
    reported.add((id(layer), dataset.name))
    example = "kfold(k = 5, validation = 0.2)" if kind == "kfold" else "holdout(validation = 0.2)"
    ctx.report(
        codes.NO_VALIDATION_SPLIT,
        f"'{learner.name}' stops early on a validation split, and dataset '{dataset.name}' has none: "
        "it would silently train every epoch",
        layer.data.early_stopping.span,
        hint=f"give '{dataset.name}' a validation part, as in split = {example}, or remove early_stopping",
        related=(related,),
    )


def _trains_with_torch(ctx: Context, learner: Declared) -> bool:
    if learner.kind == "model":
        call = ctx.call(learner.data.arch)
        return call is not None and call.entry.backend == "torch"
    strategy = ctx.call(learner.data.strategy)
    return strategy is not None and not strategy.entry.late


def _fusion_datasets(ctx: Context, fusion: Declared, targets: list[Declared]) -> None:
    """A fusion combines each test example's inputs: all of them must be tested on one dataset."""
    datasets = [tested_on(ctx, t) for t in targets]
    if None in datasets:
        return  # an unresolved input, or a cycle: reported elsewhere
    odd = next((i for i, d in enumerate(datasets) if d != datasets[0]), None)
    if odd is None:
        return
    symbols = fusion.data.inputs
    modalities = targets[0].kind == "modality"
    role, verb = ("modalities", "views") if modalities else ("learners", "is tested on")
    ctx.report(
        codes.FUSION_ACROSS_DATASETS,
        f"fusion '{fusion.name}' combines {role} of different datasets: '{symbols[0].name}' {verb} "
        f"'{datasets[0]}' and '{symbols[odd].name}' {verb} '{datasets[odd]}'",
        symbols[odd].span,
        hint=f"a fusion combines the inputs of each test example: fuse {role} of one dataset",
        related=(Related(symbols[0].span, f"'{symbols[0].name}' {verb} '{datasets[0]}'"),),
    )


def tested_on(ctx: Context, declared: Declared, seen: frozenset[str] = frozenset()) -> str | None:
    """The dataset whose test examples a modality views, or a learner is evaluated on (a fusion: that of
    its first input); None where a reference is unresolved or fusions form a cycle."""
    data = declared.data
    if data is None or declared.name in seen:
        return None
    if declared.kind == "modality":
        return data.from_.parts[0] if len(data.from_.parts) == 2 else None
    first = data.input if declared.kind == "model" else data.inputs[0]
    target = ctx.references.get(id(first))
    return None if target is None else tested_on(ctx, target, seen | {declared.name})


def reads(ctx: Context, declared: Declared, seen: frozenset[str] = frozenset()) -> set[str]:
    """The modalities whose test examples a learner reads; a late fusion reads its learners'."""
    data = declared.data
    if data is None or declared.name in seen:
        return set()
    symbols = [data.input] if declared.kind == "model" else data.inputs
    found: set[str] = set()
    for symbol in symbols:
        target = ctx.references.get(id(symbol))
        if target is None:
            continue
        if target.kind == "modality":
            found.add(target.name)
        else:
            found |= reads(ctx, target, seen | {declared.name})
    return found


def _is_late(ctx: Context, fusion: Declared) -> bool:
    strategy = ctx.call(fusion.data.strategy) if fusion.data else None
    return strategy is not None and strategy.entry.late


def _late_fusion_cycles(ctx: Context) -> None:
    edges: dict[str, list[Declared]] = {}
    for fusion in ctx.of_kind("fusion"):
        if fusion.data is not None:
            edges[fusion.name] = [
                t for s in fusion.data.inputs if (t := ctx.references.get(id(s))) and t.kind == "fusion"
            ]
    reported: set[str] = set()
    for start in edges:
        path = _find_cycle(start, edges, [start])
        if path is None or path[0] in reported:
            continue
        reported.update(path)
        fusions = {f.name: f for f in ctx.of_kind("fusion")}
        ctx.report(
            codes.FUSION_CYCLE,
            "late fusions take each other's outputs in a cycle: " + " -> ".join([*path, path[0]]),
            fusions[path[0]].name_span,
            hint="a fusion cannot depend on its own output; remove one of the inputs",
            related=tuple(Related(fusions[name].name_span, f"'{name}' is in the cycle") for name in path[1:]),
        )


def _find_cycle(node: str, edges: dict[str, list[Declared]], path: list[str]) -> list[str] | None:
    for target in edges.get(node, []):
        if target.name == path[0]:
            return path
        if target.name not in path:
            found = _find_cycle(target.name, edges, [*path, target.name])
            if found is not None:
                return found
    return None


def _conditions(ctx: Context) -> None:
    for evaluate in ctx.of_kind("evaluate"):
        for condition in evaluate.nested:
            for name, invocation in condition.shifts.items():
                modality = ctx.names.get(name)
                if modality is not None and modality.kind == "modality":
                    _accepts(ctx, invocation, modality, "condition")
            target = ctx.references.get(id(condition.domain)) if condition.domain is not None else None
            if target is not None:
                _domain_fields(ctx, condition, target)


def _domain_fields(ctx: Context, condition: Declared, dataset: Declared) -> None:
    """A domain shift tests every learner on the other dataset: it needs every field the modalities view."""
    source = ctx.call(dataset.data.source) if dataset.data else None
    fields = source.entry.fields if source else None
    if fields is None:
        return  # a file: the runtime checks its fields before training
    for modality in ctx.of_kind("modality"):
        if modality.data is None or len(modality.data.from_.parts) != 2:
            continue
        field_name = modality.data.from_.parts[1]
        if field_name not in fields:
            ctx.report(
                codes.UNKNOWN_FIELD,
                f"condition '{condition.name}' tests on '{dataset.name}', which has no field '{field_name}' "
                f"(viewed by modality '{modality.name}')",
                condition.domain.span,
                hint="a domain shift needs a dataset with the same fields",
            )
            return


def learner_representations(ctx: Context, learner: Declared) -> tuple[str, ...]:
    data = learner.data
    if data is None:
        return ()
    if learner.kind == "model":
        call = ctx.call(data.arch)
        return call.entry.representations if call else ()
    strategy = ctx.call(data.strategy)
    if strategy is None or strategy.entry.late:
        return ()  # late fusion averages outputs: it has no layer of its own
    return ("penultimate", "logits")


def _depth_swept(ctx: Context) -> bool:
    from ..values import Invocation

    for sweep in ctx.of_kind("sweep"):
        if sweep.data is None:
            continue
        values = {**sweep.data.model_dump(exclude_none=True), **(sweep.data.model_extra or {})}
        for key, value in values.items():
            if key == "depth" or (isinstance(value, Invocation) and "depth" in value.keywords):
                return True
    return False


def _layer_names(ctx: Context, call, learners: list[Declared], invocation) -> None:
    """E290: a selector of `layers = [...]` that names no layer of a model whose architecture's layers
    the registry knows (at the declared depth; a depth sweep leaves the check to run time)."""
    import fnmatch

    chosen = call.params.layers
    if chosen is None or chosen == "all" or _depth_swept(ctx):
        return
    selectors = [chosen] if isinstance(chosen, str) else list(chosen)
    for learner in learners:
        arch = ctx.call(learner.data.arch) if learner.kind == "model" else None
        if arch is None or arch.entry.layer_names is None:
            continue
        names = ["penultimate", "logits", *arch.entry.layer_names(arch.params.model_dump())]
        for selector in selectors:
            if not any(name == selector or fnmatch.fnmatchcase(name, selector) for name in names):
                ctx.report(
                    codes.UNKNOWN_LAYER,
                    f"'{learner.name}' ({arch.entry.name}) has no layer '{selector}'",
                    invocation.span,
                    hint=f"its layers are: {', '.join(names)}; or use layers = all",
                )
                return


def _representations(ctx: Context) -> None:
    learners = [d for d in ctx.blocks if d.kind in ("model", "fusion") and d.data is not None]
    for metrics in ctx.of_kind("metrics"):
        for invocation in metrics.entries:
            call = ctx.call(invocation)
            if call is None or not call.entry.needs_representations:
                continue
            _layer_names(ctx, call, learners, invocation)
            layer = call.params.layer
            lacking = [d for d in learners if layer not in learner_representations(ctx, d)]
            if learners and len(lacking) == len(learners):
                ctx.report(
                    codes.NO_REPRESENTATIONS,
                    f"'{call.entry.name}' compares '{layer}' representations, and no learner exposes one",
                    invocation.span,
                    hint="torch architectures expose 'penultimate' and 'logits'; "
                    "logistic regression and SVM expose 'logits'",
                )
            elif lacking:
                names = ", ".join(f"'{d.name}'" for d in lacking)
                ctx.report(
                    codes.LEFT_OUT_OF_METRIC,
                    f"{names} {'has' if len(lacking) == 1 else 'have'} no '{layer}' representation "
                    f"and {'is' if len(lacking) == 1 else 'are'} left out of '{call.entry.name}'",
                    invocation.span,
                    hint="compare 'logits' to include logistic regression and SVM; trees and k-NN have none",
                )


def _unused(ctx: Context) -> None:
    used: set[str] = set()
    for declared in ctx.blocks:
        data = declared.data
        if data is None:
            continue
        if declared.kind == "model":
            used.add(data.input.name)
        elif declared.kind == "fusion":
            used.update(s.name for s in data.inputs)
        elif declared.kind == "modality" and len(data.from_.parts) == 2:
            used.add(data.from_.parts[0])
        elif declared.kind == "evaluate":
            used.update(c.domain.name for c in declared.nested if c.domain is not None)
    for declared in ctx.of_kind("modality") + ctx.of_kind("dataset"):
        if declared.name not in used:
            code = codes.UNUSED_MODALITY if declared.kind == "modality" else codes.UNUSED_DATASET
            user = "learner" if declared.kind == "modality" else "modality"
            ctx.report(
                code,
                f"{declared.kind} '{declared.name}' is declared but never used",
                declared.name_span,
                hint=f"remove it, or use it as the input of a {user}",
            )
