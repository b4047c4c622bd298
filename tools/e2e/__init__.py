"""The end-to-end driver (``make e2e``, ``make e2e-aws``): a development tool, not part of the installed package.

It synthesizes the throw-away e2e stack (``stacks/e2e_stack.py``), deploys it on the local engine or on AWS, runs
``tests/e2e/`` against it (which speaks only AWS's APIs), and takes it down again, also on failure and on Ctrl-C.
``commands.py`` builds the commands it runs and runs them; ``account.py`` asks AWS about the account and the
stack; ``runs.py`` is the order of the steps and their clean-up; ``interrupts.py`` the signals.
"""
