"""Torch architectures and intermediate fusion strategies, one module each.

Each registers itself under its registry entry with `@implements`: an
architecture is called as `build(shape, out, **params)` with the entry's
parameters as the spec resolved them (a sweep's width and depth already
applied by the compiler) and returns an `nn.Module` whose `forward` maps a
batch to `(logits, penultimate)` and whose `features` is the size of the
penultimate representation; a fusion strategy is called as
`build(dims, **params)` and maps the list of encoded modalities to one
tensor of `features` columns. Importing this package imports every module in
it (see `homog.runtime.registry`).
"""
