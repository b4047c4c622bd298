"""Lambda code of this project: the sample callees (``echo``, ``flaky``; this app's only) and what the construct
deploys (``health_check``, ``circuit_extension``), which the wheel ships as ``circuit_breaker.lambdas``."""
