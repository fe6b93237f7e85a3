using System.Runtime.InteropServices;

namespace Equinox.Benchmarks;

/// <summary>
/// CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID), in nanoseconds. Unlike wall time it does not count
/// the time other processes hold the CPU, so it stays comparable when the machine is busy; for a single-threaded loop
/// on an idle machine the two agree.
/// </summary>
internal static partial class ThreadClock
{
    private const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    public static long Nanoseconds
    {
        get
        {
            if (ClockGetTime(ClockThreadCpuTime, out var t) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed.");
            return t.Seconds * 1_000_000_000 + t.Nanoseconds;
        }
    }
}
