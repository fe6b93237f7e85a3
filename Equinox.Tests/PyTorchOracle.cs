using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

/// <summary>A tensor as PyTorch computed it: row-major values widened to double, its shape and its dtype name.</summary>
public sealed record OracleTensor(double[] Values, long[] Shape, string DType)
{
    public override string ToString() =>
        $"{DType}[{string.Join(",", Shape)}] [{string.Join(", ", Values.Take(8).Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}{(Values.Length > 8 ? ", ..." : "")}]";
}

/// <summary>What one oracle request returned: the outputs, and the gradients when they were asked for.</summary>
public sealed class OracleResult(IReadOnlyList<OracleTensor?> outputs, IReadOnlyDictionary<string, OracleTensor?> grads)
{
    public IReadOnlyList<OracleTensor?> Outputs { get; } = outputs;

    /// <summary>The first (usually only) output.</summary>
    public OracleTensor Out => Outputs[0] ?? throw new InvalidOperationException("The oracle's first output is None.");

    /// <summary>The gradient for the input called <paramref name="name"/> (null when the output does not use it).</summary>
    public OracleTensor? Grad(string name) =>
        grads.TryGetValue(name, out var g) ? g
            : throw new KeyNotFoundException($"The oracle returned no gradient for '{name}': did it require grad, and were gradients requested?");
}

/// <summary>An error raised by the Python code of an oracle request, or a broken oracle process.</summary>
public sealed class OracleException(string message) : Exception(message);

/// <summary>
/// Real PyTorch as the reference for our ops: one persistent Python process (Debian's <c>/usr/bin/python3</c>, or
/// <c>EQUINOX_PYTHON</c>) running <c>Python/oracle.py</c>, started on first use, shared by every test, and closed by
/// <see cref="OracleLifetime"/> when the run ends. Each request sends named input tensors and a Python snippet over
/// them (<c>torch</c>, <c>F</c> = <c>torch.nn.functional</c> and <c>math</c> are in scope) that is one expression or
/// statements setting <c>out</c>. A C# input that requires grad requires grad in Python too.
/// </summary>
public sealed class PyTorchOracle : IDisposable
{
    private const string InstallHint = "Install PyTorch for Debian's Python with `sudo apt-get install python3-torch`, " +
                                       "or point EQUINOX_PYTHON at a Python that has torch.";
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromMinutes(2);
    private static readonly object SharedLock = new();
    private static PyTorchOracle? shared;
    private static OracleException? startFailure; // a broken setup fails every test at once instead of retrying

    private readonly object requestLock = new();
    private readonly Process process;
    private readonly StringBuilder stderr = new();
    private bool disposed;

    private PyTorchOracle()
    {
        var python = Environment.GetEnvironmentVariable("EQUINOX_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        var script = Path.Combine(AppContext.BaseDirectory, "Python", "oracle.py");
        if (!File.Exists(script)) throw new OracleException($"The oracle script is missing at '{script}'; the test project copies Python/*.py to its output.");
        var info = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(script);
        info.Environment["OMP_NUM_THREADS"] = "1";
        try
        {
            process = Process.Start(info) ?? throw new OracleException($"Could not start '{python}'.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new OracleException($"Could not start the PyTorch oracle with '{python}': {e.Message}. {InstallHint}");
        }
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr)
            {
                if (stderr.Length > 20_000) stderr.Remove(0, 10_000);
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();

        var hello = ReadLine();
        using var document = hello is null ? null : JsonDocument.Parse(hello);
        if (document is null || !document.RootElement.TryGetProperty("ready", out _))
        {
            var reason = document is not null && document.RootElement.TryGetProperty("fatal", out var fatal)
                ? fatal.GetString()
                : $"the process ended before it was ready. {StandardError()}";
            Kill();
            throw new OracleException($"'{python}' cannot run the PyTorch oracle: {reason}. {InstallHint}");
        }
        TorchVersion = document.RootElement.GetProperty("torch").GetString() ?? "";
    }

    /// <summary>The version of the torch package the oracle imported.</summary>
    public string TorchVersion { get; }

    /// <summary>The process-wide oracle, started on first use.</summary>
    public static PyTorchOracle Shared
    {
        get
        {
            lock (SharedLock)
            {
                if (shared is not null) return shared;
                if (startFailure is null)
                {
                    try
                    {
                        return shared = new PyTorchOracle();
                    }
                    catch (OracleException e)
                    {
                        startFailure = e;
                    }
                }
                // Without PyTorch the comparisons are skipped, saying why (the build printed the same line once);
                // on CI (CI=true), where .ci/run installs it, a missing PyTorch is a failure instead.
                if (!string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) &&
                    (startFailure.Message.Contains("ModuleNotFoundError") || startFailure.Message.StartsWith("Could not start", StringComparison.Ordinal)))
                    Assert.Ignore($"PyTorch is not available, so this comparison with it is skipped: {startFailure.Message}");
                throw new OracleException(startFailure.Message);
            }
        }
    }

    /// <summary>Stops the shared oracle if it was started (called once at the end of the test run).</summary>
    public static void Shutdown()
    {
        lock (SharedLock)
        {
            shared?.Dispose();
            shared = null;
        }
    }

    /// <summary>Evaluates <paramref name="code"/> over <paramref name="inputs"/> in PyTorch.</summary>
    public static OracleResult Run(string code, params (string Name, Tensor Value)[] inputs) => Shared.Request(code, inputs, false, null, 0);

    /// <summary>
    /// Evaluates <paramref name="code"/> and the gradients of <c>out.sum()</c> with respect to the inputs that require grad.
    /// </summary>
    public static OracleResult RunWithGrad(string code, params (string Name, Tensor Value)[] inputs) => Shared.Request(code, inputs, true, null, 0);

    /// <summary>As <see cref="RunWithGrad(string, ValueTuple{string, Tensor}[])"/>, with the gradient seeded by <paramref name="seed"/> (vector-Jacobian product).</summary>
    public static OracleResult RunWithGrad(string code, Tensor seed, params (string Name, Tensor Value)[] inputs) => Shared.Request(code, inputs, true, seed, 0);

    /// <summary>
    /// Sends one request. With <paramref name="grad"/>, the response holds the gradients of
    /// <c>(outputs[gradOutput] * seed).sum()</c> for every input that requires grad.
    /// </summary>
    public OracleResult Request(string code, IReadOnlyList<(string Name, Tensor Value)> inputs, bool grad, Tensor? seed, int gradOutput)
    {
        var line = EncodeRequest(code, inputs, grad, seed, gradOutput);
        string? response;
        lock (requestLock)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (process.HasExited) throw new OracleException($"The PyTorch oracle has exited. {StandardError()}");
            process.StandardInput.WriteLine(line);
            process.StandardInput.Flush();
            response = ReadLine();
        }
        if (response is null) throw new OracleException($"The PyTorch oracle ended without answering. {StandardError()}");
        return DecodeResponse(response, code);
    }

    private string? ReadLine()
    {
        var read = process.StandardOutput.ReadLineAsync();
        if (read.Wait(ResponseTimeout)) return read.Result;
        Kill();
        throw new OracleException($"The PyTorch oracle did not answer within {ResponseTimeout.TotalSeconds} s. {StandardError()}");
    }

    private string StandardError()
    {
        lock (stderr) return stderr.Length == 0 ? "" : $"Its standard error:\n{stderr}";
    }

    // ---- wire format --------------------------------------------------------------------------------------------

    private static string EncodeRequest(string code, IReadOnlyList<(string Name, Tensor Value)> inputs, bool grad, Tensor? seed, int gradOutput)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("code", code);
            json.WriteStartObject("inputs");
            foreach (var (name, value) in inputs)
            {
                json.WritePropertyName(name);
                WriteTensor(json, value, value.RequiresGrad);
            }
            json.WriteEndObject();
            if (grad)
            {
                json.WriteStartObject("grad");
                json.WriteNumber("output", gradOutput);
                json.WritePropertyName("seed");
                if (seed is null) json.WriteNullValue();
                else WriteTensor(json, seed, false);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteTensor(Utf8JsonWriter json, Tensor tensor, bool requiresGrad)
    {
        json.WriteStartObject();
        json.WritePropertyName("values");
        json.WriteStartArray();
        if (tensor.DType.IsFloatingPoint())
            foreach (var v in ValuesOf(tensor)) WriteDouble(json, v);
        else
            foreach (var v in ValuesOf(tensor)) json.WriteNumberValue((long)v);
        json.WriteEndArray();
        json.WriteStartArray("shape");
        foreach (var s in tensor.Shape) json.WriteNumberValue(s);
        json.WriteEndArray();
        json.WriteString("dtype", TorchName(tensor.DType));
        json.WriteBoolean("requires_grad", requiresGrad);
        json.WriteEndObject();
    }

    private static void WriteDouble(Utf8JsonWriter json, double v)
    {
        if (double.IsNaN(v)) json.WriteStringValue("NaN");
        else if (double.IsPositiveInfinity(v)) json.WriteStringValue("Infinity");
        else if (double.IsNegativeInfinity(v)) json.WriteStringValue("-Infinity");
        else if (v == 0 && double.IsNegative(v)) json.WriteRawValue("-0.0"); // "-0" would reach Python as the integer 0
        else json.WriteRawValue(v.ToString("R", CultureInfo.InvariantCulture));
    }

    /// <summary>The elements of any real tensor, exactly, as doubles (row-major).</summary>
    public static double[] ValuesOf(Tensor tensor)
    {
        switch (tensor.DType)
        {
            case DType.Float64: return tensor.ToArray<double>();
            case DType.Float32: return Array.ConvertAll(tensor.ToArray<float>(), v => (double)v);
            case DType.Int64: return Array.ConvertAll(tensor.ToArray<long>(), v => (double)v);
            case DType.Int32: return Array.ConvertAll(tensor.ToArray<int>(), v => (double)v);
            case DType.Bool: return Array.ConvertAll(tensor.ToArray<bool>(), v => v ? 1.0 : 0.0);
            default:
                using (Torch.NoGrad())
                using (var wide = tensor.To(DType.Float64))
                    return wide.ToArray<double>();
        }
    }

    /// <summary>PyTorch's name for a dtype (<c>torch.float32</c> without the prefix).</summary>
    public static string TorchName(DType dtype) => dtype switch
    {
        DType.Bool => "bool",
        DType.UInt8 => "uint8",
        DType.Int8 => "int8",
        DType.Int16 => "int16",
        DType.Int32 => "int32",
        DType.Int64 => "int64",
        DType.Float16 => "float16",
        DType.BFloat16 => "bfloat16",
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        _ => throw new NotSupportedException($"The oracle does not carry {dtype.ShortName()} tensors."),
    };

    private static OracleResult DecodeResponse(string line, string code)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (root.TryGetProperty("error", out var error))
            throw new OracleException($"PyTorch raised an error for\n{code}\n{error.GetString()}");
        var outputs = root.GetProperty("outputs").EnumerateArray().Select(ReadTensor).ToArray();
        var grads = new Dictionary<string, OracleTensor?>();
        if (root.TryGetProperty("grads", out var g))
            foreach (var property in g.EnumerateObject()) grads[property.Name] = ReadTensor(property.Value);
        return new OracleResult(outputs, grads);
    }

    private static OracleTensor? ReadTensor(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Null) return null;
        var values = element.GetProperty("values").EnumerateArray().Select(v => v.ValueKind switch
        {
            JsonValueKind.Number => v.GetDouble(),
            JsonValueKind.String => v.GetString() switch
            {
                "NaN" => double.NaN,
                "Infinity" => double.PositiveInfinity,
                "-Infinity" => double.NegativeInfinity,
                var s => throw new OracleException($"The oracle sent the value '{s}'."),
            },
            _ => throw new OracleException($"The oracle sent a {v.ValueKind} as a value."),
        }).ToArray();
        var shape = element.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray();
        return new OracleTensor(values, shape, element.GetProperty("dtype").GetString()!);
    }

    // ---- lifetime -----------------------------------------------------------------------------------------------

    private void Kill()
    {
        try
        {
            if (!process.HasExited) process.Kill();
        }
        catch (InvalidOperationException)
        {
            // It exited in between.
        }
    }

    public void Dispose()
    {
        lock (requestLock)
        {
            if (disposed) return;
            disposed = true;
            try
            {
                process.StandardInput.Close();
                if (!process.WaitForExit(5000)) Kill();
            }
            catch (IOException)
            {
                Kill();
            }
            process.Dispose();
        }
    }
}

/// <summary>Closes the shared PyTorch oracle once every test in this namespace has run.</summary>
[SetUpFixture]
public sealed class OracleLifetime
{
    [OneTimeTearDown]
    public void StopOracle() => PyTorchOracle.Shutdown();
}
