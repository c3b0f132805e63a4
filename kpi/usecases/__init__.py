"""Use cases: thin functions, each one unit of work: resolve the caller, `require` what it
needs, call the domain, return one of a few typed outcomes (a `kpi.access.Refusal` among them).

Handlers call these and render the outcome with a view; tests call them with plain arguments.
"""
