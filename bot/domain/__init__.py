"""The platform-free incident core: model, state machine, policies, metrics."""
