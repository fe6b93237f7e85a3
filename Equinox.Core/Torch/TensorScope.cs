namespace Equinox.Torch;

/// <summary>
/// Deterministic release of tensors: every tensor created on this thread while the scope is the innermost one is
/// disposed when the scope is, except those moved out with <see cref="MoveOut(Tensor)"/>, which pass to the enclosing
/// scope (or, with none, to the caller and the GC). Open one with <c>using var scope = Torch.Scope();</c>.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? current;

    // The list of the last scope disposed on this thread, emptied, for the next scope to reuse: a loop that opens a
    // scope per iteration then allocates no list (nor grows one) per iteration.
    [ThreadStatic] private static List<Tensor>? spare;

    private readonly TensorScope? parent;
    private readonly int threadId;
    private List<Tensor>? owned; // null once disposed
    private bool disposed;

    internal TensorScope()
    {
        parent = current;
        threadId = Environment.CurrentManagedThreadId;
        owned = spare ?? new();
        spare = null;
        current = this;
    }

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static TensorScope? Current => current;

    /// <summary>How many tensors this scope will dispose.</summary>
    public int Count
    {
        get
        {
            int count = 0;
            if (owned is not null)
                foreach (var t in owned) if (ReferenceEquals(t.Owner, this)) count++;
            return count;
        }
    }

    internal static bool IsActive => current is not null;

    internal static void Adopt(Tensor tensor)
    {
        var scope = current;
        if (scope is null) return;
        tensor.Owner = scope;
        scope.owned!.Add(tensor);
    }

    /// <summary>
    /// Keeps <paramref name="tensor"/> alive past this scope: it moves to the enclosing scope, or to the caller when
    /// there is none. Tensors this scope does not own are returned unchanged.
    /// </summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(tensor))]
    public Tensor? MoveOut(Tensor? tensor)
    {
        if (tensor is not null && ReferenceEquals(tensor.Owner, this))
        {
            tensor.Owner = parent;
            parent?.owned?.Add(tensor);
        }
        return tensor;
    }

    /// <summary>Moves several tensors out at once; see <see cref="MoveOut(Tensor)"/>.</summary>
    public void MoveOut(params ReadOnlySpan<Tensor?> tensors)
    {
        foreach (var t in tensors) MoveOut(t);
    }

    /// <summary>Disposes every tensor still owned by this scope and makes the enclosing scope current again.</summary>
    public void Dispose()
    {
        if (disposed) return;
        if (Environment.CurrentManagedThreadId != threadId)
            throw new InvalidOperationException("A TensorScope must be disposed on the thread that opened it.");
        if (!ReferenceEquals(current, this))
            throw new InvalidOperationException(
                "TensorScopes must be disposed innermost first: an inner scope opened after this one is still open. " +
                "Open scopes with `using var scope = Torch.Scope();` so they close in order.");
        disposed = true;
        current = parent;
        var tensors = owned!;
        owned = null;
        foreach (var t in tensors)
            if (ReferenceEquals(t.Owner, this)) t.Dispose();
        tensors.Clear();
        spare = tensors;
    }
}
