// Benchmarks pin spinning threads to the host's CPUs: two at once would only measure each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
