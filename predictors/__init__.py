"""Latency and energy predictors (installed as `hwnas.predictors`).

Planned: a registry of `Predictor`s (`fit / predict / save / load / evaluate`): `flops`
(linear baseline), `mlp` on the encoding, `gcn` on the exported ONNX graph, and
nn-Meter-style kernel models; and the cost service (measured, else predicted, else estimated).
"""
