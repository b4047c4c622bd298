"""What every part shares, with the standard library only: the workflow's errors, settings, the circuit item.

Lives here: the workflow's failures as exceptions (:mod:`.errors`), the rules its ``Check input`` state applies
(:mod:`.call_input`), per-callee settings (:mod:`.settings`), the
circuit item's model (:mod:`.record`) and the conditional writes of it (:mod:`.writes`), transition events
(:mod:`.transitions`), the health checks' decisions (:mod:`.health`) and the extension's interface
(:mod:`.extension_api`). The Lambda code the construct deploys (``circuit_breaker/lambdas/``) copies this
folder whole, so nothing here may import boto3, aws-cdk-lib or any other part of the package.
"""
