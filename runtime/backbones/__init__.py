"""Pretrained backbones: loaded from local files, read at a named layer, pooled, adapted.

One class per library (`hf`, `vision` for timm and torchvision, `module` for a
plugin's own `nn.Module`) gives the same small interface, `Backbone`:

- `prepare(values)`: a modality's examples as the model takes them (text
  tokenized to ids and attention mask, images resized and normalised), as
  float32 arrays the cache stores and a fit's batches index;
- `output(x, layer)`: the output of a named layer for prepared inputs, with
  the mask over tokens where there is one;
- `blocks()`: the model's blocks in order (fine-tuning trains the last k);
- `module`: the `nn.Module` holding every weight.

Weights are read only from safetensors files or with `torch.load(weights_only=True)`;
nothing is downloaded unless the spec says `download = true`.
"""
