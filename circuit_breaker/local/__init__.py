"""The embedded local engine: moto with its Step Functions executor, patched to run this workflow as AWS does.

Lives here: the engine (:mod:`.engine`, with :class:`~circuit_breaker.local.engine.LocalEngine`), its deployer of a
synthesized assembly (:mod:`.deployer`), its clock (:mod:`.clock`), Lambda runtime (:mod:`.lambda_runtime`),
JSONata (:mod:`.jsonata_engine`, :mod:`.jsonata_js`), execution logs, fault injection, its HTTP server, and every
patch of moto (``patches/``, one module per concern, all named in the registry of ``patches/__init__.py``).
Needs the ``local`` extra. May import :mod:`circuit_breaker.core`, :mod:`circuit_breaker.aws`,
:mod:`circuit_breaker.cdk` (to synthesize), :mod:`circuit_breaker.client` and :mod:`circuit_breaker.operate`; only
the CLI imports it.
"""
