"""``make parity``: the local engine replays what AWS Step Functions recorded, and says where it differs.

The ground truth is ``../shared/parity``: executions AWS itself ran for LocalStack's snapshot tests.
One module per concern:

=============== ==============================================================================
``recordings``  where the data is, which snapshot keys are in scope (``../shared/parity/SCOPE.json``), what each holds
``json5``       reading the recorded templates (JSON with comments and trailing commas)
``recipes``     how each recorded test was set up (template, edits, functions, input, API calls)
``functions``   the harness's own Lambda handlers, run in-process by the engine's Lambda runtime
``resources``   creating a replay's functions, table, queue and log group on the engine
``runner``      replaying a recording on the engine and judging it
``normalise``   the engine's answers made to look as LocalStack recorded AWS's
``compare``     value-by-value comparison, placeholders matched consistently
``report``      verdicts, ``docs/parity.json``, ``docs/parity.md`` and the summary line
=============== ==============================================================================
"""
