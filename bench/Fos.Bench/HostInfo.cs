using System.Runtime.InteropServices;

namespace Fos.Bench;

/// <summary>The machine a benchmark ran on, for the summary line: ratios travel, absolute numbers need this.</summary>
internal static class HostInfo
{
    public static int Cpus => Environment.ProcessorCount;

    public static string Os => RuntimeInformation.OSDescription;

    public static string Runtime => RuntimeInformation.FrameworkDescription;

    public static string Model { get; } = ReadModel();

    private static string ReadModel()
    {
        try
        {
            // x86 says "model name", some ARM kernels only "Processor" or nothing at all.
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                var colon = line.IndexOf(':');
                if (colon < 0) continue;
                var key = line[..colon].Trim();
                if (key is "model name" or "Processor" or "cpu model") return line[(colon + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
