"""The health-check function: one scheduled probe of one callee, and what it changes in the circuit table."""
