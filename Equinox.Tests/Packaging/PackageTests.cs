using System.Diagnostics;
using System.Text;
using NUnit.Framework;

namespace Equinox.Tests.Packaging;

/// <summary>
/// The packages as a user meets them: `dotnet pack` into a folder feed, then a project outside the repository that
/// references the packages only (restoring from that feed alone) builds, trains a model, uses the test helpers, and
/// gets the generator's compile error on a bad module.
/// </summary>
[NonParallelizable]
public class PackageTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    private string work = null!;

    [OneTimeSetUp]
    public void Pack()
    {
        work = Directory.CreateTempSubdirectory("eqx-package-").FullName;
        var root = RepositoryRoot();
        // --no-build: the solution's build (the one these tests come from) has built the projects and the shim.
        foreach (var project in new[] { "Equinox.Core", "Equinox.Nn", "Equinox.Testing" })
        {
            var (code, output) = Run(root, "dotnet", "pack", Path.Combine(root, project), "-c", Configuration, "--no-build",
                "-o", Path.Combine(work, "feed"), "-p:Version=0.1.0-test");
            Assert.That(code, Is.Zero, $"dotnet pack {project} failed:\n{output}");
        }
        File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="equinox" value="{Path.Combine(work, "feed")}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(work, "Consumer.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Equinox.Nn" Version="0.1.0-test" />
                <PackageReference Include="Equinox.Testing" Version="0.1.0-test" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(work, "Program.cs"), """
            using Equinox;
            using Equinox.Nn;
            using Equinox.Optim;
            using Equinox.Tensors;
            using Equinox.Testing;

            var (k1, k2) = Key.Create(0).Split();
            var x = Tensor.Normal(k1, [64, 3]);
            var y = x.Sum(1, keepdim: true);
            var model = new Regressor(new Mlp(3, 1, 16, 1, k2));
            var optimizer = new Adam(1e-2);
            var state = optimizer.Init(model);
            var lossAndGrads = Eqx.FilterValueAndGrad((Regressor m) => Functional.MseLoss(m.Net.Forward(x), y));
            double first = 0, last = 0;
            for (int i = 0; i < 200; i++)
            {
                var (loss, grads) = lossAndGrads(model);
                (model, state) = optimizer.Step(model, grads, state);
                last = loss.Item<double>();
                if (i == 0) first = last;
            }
            TreeAssert.Structure(model, Eqx.TreeMap(model, t => t * 2));
            Console.WriteLine($"loss {first:F4} -> {last:F4}");

            [Module]
            public partial class Regressor
            {
                public readonly Mlp Net;
                public Regressor(Mlp net) { Net = net; }
            }
            """);
    }

    [OneTimeTearDown]
    public void Clean()
    {
        try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Test, Order(1)]
    public void AProjectReferencingThePackagesBuildsAndTrains()
    {
        var (code, output) = Run(work, "dotnet", "run");
        Assert.That(code, Is.Zero, output);
        var line = output.Split('\n').Single(l => l.StartsWith("loss "));
        var parts = line.Split(' ');
        double first = double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        double last = double.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(last, Is.LessThan(first / 10), line);
        Assert.That(File.Exists(Path.Combine(work, "bin", "Debug", "net10.0", "libequinox_native.so")), "the shim is put next to the program");
    }

    [Test, Order(2)]
    public void ABadModuleGetsTheGeneratorsCompileError()
    {
        var bad = Path.Combine(work, "Bad.cs");
        File.WriteAllText(bad, "using Equinox; using Equinox.Tensors;\n[Module]\npublic class Bad { public readonly Tensor W = null!; }\n");
        try
        {
            var (code, output) = Run(work, "dotnet", "build");
            Assert.That(code, Is.Not.Zero);
            Assert.That(output, Does.Contain("Bad.cs(3,14): error EQX0001: 'Bad' is marked [Module] but is not partial"));
        }
        finally
        {
            File.Delete(bad);
        }
    }

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Equinox.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("The repository root (Equinox.sln) is not above the test assembly.");
    }

    /// <summary>Runs a command to completion within <see cref="Limit"/>; returns its exit code and its output.</summary>
    private (int Code, string Output) Run(string directory, string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The test host's MSBuild settings would leak into the nested dotnet commands; the consumer restores into its
        // own package folder (so a repacked 0.1.0-test is never taken from a cache) and builds the shim into its own.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) ||
                                                              k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(key);
        info.Environment["NUGET_PACKAGES"] = Path.Combine(work, "packages");
        info.Environment["EQUINOX_NATIVE_BUILD_DIR"] = Path.Combine(work, "native");
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{file} {string.Join(' ', arguments)}' did not finish within {Limit.TotalMinutes} minutes:\n{output}");
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }
}
