using System.Runtime.CompilerServices;

// Tests check internals directly: the Threefry block cipher against its published vectors, and the shim's
// thread-local last error through the raw entry points.
[assembly: InternalsVisibleTo("Equinox.Tests")]
