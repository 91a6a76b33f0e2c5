using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Fos.Bench;

/// <summary>The <c>--json</c> output: one object per result, then a summary line.</summary>
public static class BenchJson
{
    // Plain output for terminals and log files; this JSON is never embedded in HTML.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>{"scenario","metric","value","unit","baseline","baseline_value","ratio"} on one line.</summary>
    public static string Line(BenchResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Write(w =>
        {
            w.WriteString("scenario", result.Scenario);
            w.WriteString("metric", result.Metric);
            w.WriteNumber("value", result.Value);
            w.WriteString("unit", result.Unit);
            w.WriteString("baseline", result.Baseline);
            w.WriteNumber("baseline_value", result.BaselineValue);
            if (result.Ratio is { } ratio) w.WriteNumber("ratio", ratio);
            else w.WriteNull("ratio");
        });
    }

    /// <summary>The last line: how many results, and the machine and date they were measured on.</summary>
    public static string Summary(string scenario, IReadOnlyList<BenchResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return Write(w =>
        {
            w.WriteString("scenario", scenario);
            w.WriteBoolean("summary", true);
            w.WriteNumber("results", results.Count);
            w.WriteStartObject("machine");
            w.WriteNumber("cpus", HostInfo.Cpus);
            w.WriteString("model", HostInfo.Model);
            w.WriteString("os", HostInfo.Os);
            w.WriteEndObject();
            w.WriteString("date", DateTime.Now.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("runtime", HostInfo.Runtime);
        });
    }

    private static string Write(Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            fields(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
