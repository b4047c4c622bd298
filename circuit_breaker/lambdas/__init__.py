"""The code the construct deploys: the health-check function (``health_check/``) and the extension
(``circuit_extension/``). Each asset is this code plus :mod:`circuit_breaker.core` (``cdk/assets.py``), so
nothing here may import any other part of the package."""
