"""LightningModules, plain nn.Module components and the ultralytics detector wrapper."""
