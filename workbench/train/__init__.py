"""Training: run configs, timm backbones and their weights, the training loop, loaded runs, background jobs.

Import from the modules themselves (`workbench.train.config`, `.loop`, `.runs`, ...): importing this package
imports nothing, so the light ones (the config, read by the app's first page) do not pull in torch.
"""
