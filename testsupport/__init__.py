"""What the tests and the benchmarks share: servers and processes, databases, deliveries.

The root conftest.py loads testsupport.fixtures for every test folder. No module of the service
imports this package, and it ships in no wheel or image.
"""
