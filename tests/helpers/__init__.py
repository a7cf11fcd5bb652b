"""Helper modules of the tests: data builders, fakes, servers, composed configs.

Tests and conftests import from here; nothing here is a test or a fixture, and no test module
imports another test module or a conftest.
"""
