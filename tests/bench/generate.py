"""Generated specs of a given size, for benchmarks: many models over shared modalities."""

from __future__ import annotations

HEADER = """experiment "generated" {
  seed   = 0
  device = cpu
}

dataset digits {
  source = sklearn.digits
  split  = holdout(test = 0.25, stratify = true)
}

modality pixels {
  from      = digits.image
  type      = vector
  transform = [flatten, standardize]
}

train {
  epochs     = 5
  batch_size = 128
  optimizer  = adam(lr = 1e-3)
}

sweep {
  seed = 0..2
}

metrics {
  accuracy
  agreement
}
"""

MODEL = """
# model {index}: a two-layer network of width {width}
model mlp_{index} {{
  input = pixels
  arch  = mlp(hidden = [{width}, {half}], dropout = 0.1)
}}
"""


def generated_spec(lines: int) -> str:
    """A valid spec of about `lines` lines."""
    parts = [HEADER]
    count = HEADER.count("\n")
    index = 0
    while count < lines:
        width = 16 * (1 + index % 8)
        block = MODEL.format(index=index, width=width, half=width // 2)
        parts.append(block)
        count += block.count("\n")
        index += 1
    return "".join(parts)
