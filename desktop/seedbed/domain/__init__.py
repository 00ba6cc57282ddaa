"""Pure data and rules: models, the task state machine, events. No I/O, no Qt."""
