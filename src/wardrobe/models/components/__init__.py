"""Plain ``nn.Module`` components (no Lightning): serving rebuilds them from their config."""
