"""``arena-synth``: under-contract fixtures planted by mutation in a working project.

A mutation operator (after cargo-mutants and mutmut) changes one site that a real parser found
(Python's ``ast``, tree-sitter's Rust grammar); a mutant becomes a fixture only when it builds,
passes the contract's compliance, fails at least one test and is proven by ``arena-validate``'s
checks twice (:mod:`pytest_arena.proof`). The original file is the fixture's ``solution/``.
"""
