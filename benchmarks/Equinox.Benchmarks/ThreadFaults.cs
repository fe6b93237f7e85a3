using System.Runtime.InteropServices;

namespace Equinox.Benchmarks;

/// <summary>
/// Minor page faults of the calling thread (Linux <c>getrusage(RUSAGE_THREAD)</c>, <c>ru_minflt</c>): each is a page
/// the kernel had to map in, typically because the allocator handed back fresh memory (a large block mmapped and
/// unmapped per use) instead of reusing what it held.
/// </summary>
internal static partial class ThreadFaults
{
    private const int RusageThread = 1;

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct Rusage
    {
        public long UserSeconds, UserMicroseconds, SystemSeconds, SystemMicroseconds;
        public long MaxRss, SharedText, UnsharedData, UnsharedStack, MinorFaults, MajorFaults;
        public fixed long Rest[8];
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, out Rusage usage);

    public static long Minor
    {
        get
        {
            if (GetRusage(RusageThread, out var usage) != 0) throw new InvalidOperationException("getrusage(RUSAGE_THREAD) failed.");
            return usage.MinorFaults;
        }
    }
}
