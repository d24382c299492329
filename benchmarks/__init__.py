"""Speed and memory benchmarks that print ratios against peers (`make bench`)."""
