using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// The <see cref="TensorScope"/> a transformation runs the user's function in. A function that throws after opening
/// a scope of its own without <c>using</c> leaves that scope open above this one; disposing this one then would fail
/// with the scopes' order complaint and hide the function's exception, and the thread would keep a dead scope as its
/// current one. So <see cref="Dispose"/> first closes, innermost first, every scope the function left open: they and
/// their tensors belong to the call that failed.
/// </summary>
internal readonly struct CallScope : IDisposable
{
    // The scope that was current before this one: the closing loop stops there even if the function disposed this one.
    private readonly TensorScope? outer;

    private CallScope(TensorScope? outer, TensorScope scope)
    {
        this.outer = outer;
        Tensors = scope;
    }

    /// <summary>The scope itself, for moving results out.</summary>
    internal TensorScope Tensors { get; }

    /// <summary>Opens a scope on this thread.</summary>
    internal static CallScope Open()
    {
        var outer = TensorScope.Current;
        return new CallScope(outer, Torch.Scope());
    }

    /// <summary>
    /// Called when the function returned normally: a scope it left open would own (and later free) what it returned,
    /// so that is an error, raised before anything is moved out.
    /// </summary>
    internal void CheckFunctionClosedItsScopes(string transformation)
    {
        if (ReferenceEquals(TensorScope.Current, Tensors)) return;
        throw new InvalidOperationException(
            $"{transformation}: the function opened a TensorScope (Torch.Scope()) and returned without disposing it, so " +
            "that scope would free the tensors it returned. Open scopes inside the function with " +
            "`using var scope = Torch.Scope();`, which disposes them when the function returns.");
    }

    /// <summary>Moves <paramref name="tensor"/> out of the scope (see <see cref="TensorScope.MoveOut(Tensor)"/>).</summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(tensor))]
    internal Tensor? MoveOut(Tensor? tensor) => Tensors.MoveOut(tensor);

    /// <summary>Moves several tensors out of the scope.</summary>
    internal void MoveOut(params ReadOnlySpan<Tensor?> tensors) => Tensors.MoveOut(tensors);

    public void Dispose()
    {
        while (TensorScope.Current is { } current && !ReferenceEquals(current, Tensors) && !ReferenceEquals(current, outer))
            current.Dispose();
        Tensors.Dispose();
    }
}
