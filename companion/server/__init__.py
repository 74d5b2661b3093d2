"""The companion's HTTP API on 127.0.0.1: a thin, locked-down shell around the look pipeline.

Only the paired browser extension may use it: see ``security`` for the checks every request
passes and ``app.create_app`` for how the pieces fit.
"""
