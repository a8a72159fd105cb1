"""The data layer: published layouts -> canonical store (see store.py for the contract).

The modules are imported by name (``attpd_bench.data.prepare``, ``attpd_bench.data.store``): importing the package
loads none of them, so a command that only opens a store does not pay for every reader.
"""
