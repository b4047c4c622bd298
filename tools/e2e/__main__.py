"""``python -m tools.e2e``: the end-to-end suite against a throw-away stack, on the local engine or on AWS.

    python -m tools.e2e local [-- PYTEST_ARGS]                        # make e2e
    python -m tools.e2e aws [--keep] [--stack NAME] [--region R] [--profile P] [-- PYTEST_ARGS]   # make e2e-aws
    python -m tools.e2e destroy NAME [--region R] [--profile P]       # a stack that --keep left
    python -m tools.e2e cost                                          # what one aws run costs (the README's table)

Exit status: the suite's (0 passed, 1 failed), 2 when it could not start (credentials, bootstrap, synthesis,
deploy, a stack the driver did not create), 128 + the signal when interrupted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tools.e2e.account import Boto3Account, E2EError
from tools.e2e.commands import SubprocessRunner
from tools.e2e.runs import SETUP_FAILED, AwsOptions, destroy, run_locally, run_on_aws


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.e2e", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    runs = parser.add_subparsers(dest="run", required=True)
    runs.add_parser("local", help="serve a throw-away e2e stack on `breaker local up` and run the suite over HTTP (make e2e)")
    aws = runs.add_parser("aws", help="deploy CircuitBreakerE2E-<id>, run the suite against it, destroy it (make e2e-aws)")
    aws.add_argument("--keep", action="store_true", help="keep the stack afterwards for inspection")
    aws.add_argument("--stack", help="run against this stack, which an earlier --keep left, instead of deploying one")
    runs.add_parser("cost", help="print what one `make e2e-aws` costs, priced with benchmarks/cost_model.py")
    gone = runs.add_parser("destroy", help="destroy an e2e stack that --keep left")
    gone.add_argument("stack", help="CircuitBreakerE2E-<id>")
    for sub in (aws, gone):
        sub.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's)")
        sub.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default profile)")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    pytest_args: list[str] = []
    if "--" in arguments:
        split = arguments.index("--")
        arguments, pytest_args = arguments[:split], arguments[split + 1 :]
    args = _parser().parse_args(arguments)
    if args.run == "cost":
        from tools.e2e.cost import cost_table

        print(cost_table())
        return 0
    with tempfile.TemporaryDirectory(prefix="breaker-e2e-") as scratch:
        workdir = Path(scratch)
        if args.run == "local":
            return run_locally(SubprocessRunner(), workdir, pytest_args)
        try:
            account = Boto3Account(args.region, args.profile)
            if args.run == "destroy":
                if not destroy(account, args.stack):
                    print(f"e2e: there is no stack {args.stack} in {account.region}", file=sys.stderr)
                return 0
        except (E2EError, ValueError) as error:
            print(f"e2e: {error}", file=sys.stderr)
            return SETUP_FAILED
        options = AwsOptions(keep=args.keep, reuse=args.stack, profile=args.profile, pytest_args=tuple(pytest_args))
        return run_on_aws(account, SubprocessRunner(), workdir, options)


if __name__ == "__main__":
    sys.exit(main())
