"""What an operator sees of a running instance: log lines and Prometheus metrics."""
