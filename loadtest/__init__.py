"""The duplicate-storm load tester: `python -m loadtest --help`; from code, loadtest.storm."""
