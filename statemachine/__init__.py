"""The state machine definitions (ASL), shipped in the wheel as the package ``circuit_breaker.statemachine``."""
