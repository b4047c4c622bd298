"""This app's sample callees: ``echo`` (answers its payload) and ``flaky`` (fails or sleeps on request).

The functions the construct itself deploys (the health check, the extension) ship inside the package, in
``circuit_breaker/lambdas/``, so that the construct finds them wherever it is installed."""
