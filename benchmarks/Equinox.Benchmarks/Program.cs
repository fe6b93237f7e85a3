// Replaced by the op-loop benchmark.
System.Console.WriteLine("benchmarks: see benchmarks/README.md");
