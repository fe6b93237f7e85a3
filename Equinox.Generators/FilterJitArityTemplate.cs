using System.Text;
using static Equinox.Generators.ArityText;

namespace Equinox.Generators;

/// <summary>The template of <c>FilterJitFunction&lt;T1, ..., TResult&gt;</c>, one class per argument count.</summary>
internal static class FilterJitArityTemplate
{
    public static string Emit(int maxArguments)
    {
        var text = new StringBuilder(Header(nameof(FilterJitArityTemplate)));
        text.Append("using Equinox.Transforms;\n\nnamespace Equinox;\n");
        for (int n = 1; n <= maxArguments; n++) text.Append('\n').Append(Class(n));
        return text.ToString();
    }

    private static string Class(int n)
    {
        var types = Join(n, i => $"T{i}");
        var tuple = $"ValueTuple<{types}>";
        return $$"""
            /// <summary>A function of {{Digits(n, "argument")}} compiled by <see cref="Eqx.FilterJit{{{types}}, TResult}(Func{{{types}}, TResult}, Donate, string?)"/>.</summary>
            {{Join(n, i => $"/// <typeparam name=\"T{i}\">The type of argument {i}.</typeparam>", "\n")}}
            /// <typeparam name="TResult">The result type.</typeparam>
            {{GeneratedCode}}
            public sealed class FilterJitFunction<{{types}}, TResult> : FilterJitFunction
            {
                private readonly Func<{{tuple}}, TResult> call;

                internal FilterJitFunction(Func<{{types}}, TResult> function, Donate donate, string? name) : base(function, name, donate)
                {
                    call = a => function({{Join(n, i => $"a.Item{i}")}});
                }

                /// <summary>
                /// Calls the function: a cache hit runs only the compiled work; a miss compiles first and raises
                /// <see cref="FilterJitFunction.Compiled"/> with the reason.
                /// </summary>
                public TResult Invoke({{Join(n, i => $"T{i} arg{i}")}})
                {
                    var key = JitKeyBuilder.Rent();
                    try
                    {
                        {{Join(n, i => $"key.Add({i - 1}, arg{i});", "\n            ")}}
                        var entry = Lookup(key, out var compiled);
                        return Execute(entry, key, compiled is not null, new {{tuple}}({{Join(n, i => $"arg{i}")}}), call, Rebind);
                    }
                    finally
                    {
                        key.Return();
                    }
                }

                /// <summary>
                /// Compiles ahead of time for arguments with the shapes, dtypes, devices and static values of these:
                /// the function runs once with them, without donating them, its result is freed, and a later
                /// <see cref="Invoke"/> with such arguments is a cache hit (on CUDA, the graph is captured now).
                /// Returns what was compiled and why, or null when the cache already held an entry for them.
                /// </summary>
                {{Join(n, i => $"/// <param name=\"arg{i}\">An example of argument {i}.</param>", "\n    ")}}
                public FilterJitCompiledEventArgs? Compile({{Join(n, i => $"T{i} arg{i}")}})
                {
                    var key = JitKeyBuilder.Rent();
                    try
                    {
                        {{Join(n, i => $"key.Add({i - 1}, arg{i});", "\n            ")}}
                        var entry = Lookup(key, out var compiled);
                        if (compiled is not null) Warm(entry, key, new {{tuple}}({{Join(n, i => $"arg{i}")}}), call, Rebind);
                        return compiled;
                    }
                    finally
                    {
                        key.Return();
                    }
                }

                private static {{tuple}} Rebind({{tuple}} a, JitBinder b) => new({{Join(n, i => $"b.Bind({i - 1}, a.Item{i})")}});
            }

            """;
    }
}
