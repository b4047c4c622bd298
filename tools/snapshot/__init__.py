"""The template snapshot (``make snapshot``): the sample stack's synthesized template, normalised, kept in the repository.

``tests/cdk/test_template_snapshot.py`` synthesizes the sample app and compares it with
``tests/cdk/snapshots/CircuitBreaker.template.json``, so a change to IAM, logging, the workflow's definition or
any other resource shows in review as a diff of that file. ``python -m tools.snapshot`` writes it again.
"""
