"""``devsessions bench``: end-to-end benchmarks of the service against baselines.

Drives the real service from outside, as an operator or an upstream producer would:
``devsessions run`` as a child process on an isolated topology (own topics, consumer
group, database, namespaces), events published to Kafka, answers read back from the
output topic. Every figure comes with a baseline measured in the same run on the same
machine, because the machine is shared and noisy: only ratios travel.

Nothing in the service imports this package (an import contract says so); it imports
only ``events`` of ours, so it measures the service as a black box.
"""
