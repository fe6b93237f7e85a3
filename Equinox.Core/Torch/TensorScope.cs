namespace Equinox.Tensors;

/// <summary>
/// Deterministic release of tensors: every tensor created on this thread while the scope is the innermost one is
/// disposed when the scope is, except those moved out with <see cref="MoveOut(Tensor)"/>, which pass to the enclosing
/// scope (or, with none, to the caller and the GC). Open one with <c>using var scope = Torch.Scope();</c>.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static ThreadScopes? thread;

    /// <summary>
    /// This thread's open scopes, and the finalizer backstop for them: tensors created in a scope have no finalizer of
    /// their own (the scope frees them), so if a thread ends with scopes still open, this object becomes unreachable
    /// and its finalizer frees their tensors.
    /// </summary>
    private sealed class ThreadScopes
    {
        public TensorScope? Current;

        // The list of the last scope disposed on this thread, emptied, for the next scope to reuse: a loop that opens
        // a scope per iteration then allocates no list (nor grows one) per iteration.
        public List<Tensor>? Spare;

        ~ThreadScopes()
        {
            for (var scope = Current; scope is not null; scope = scope.parent)
                if (scope.owned is { } tensors)
                    foreach (var t in tensors)
                        if (ReferenceEquals(t.Owner, scope)) t.Dispose();
        }
    }

    private readonly TensorScope? parent;
    private readonly int threadId;
    private List<Tensor>? owned; // null once disposed
    private bool disposed;

    internal TensorScope()
    {
        var state = thread ??= new ThreadScopes();
        parent = state.Current;
        threadId = Environment.CurrentManagedThreadId;
        owned = state.Spare ?? new();
        state.Spare = null;
        state.Current = this;
    }

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static TensorScope? Current => thread?.Current;

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

    /// <summary>Takes ownership of a tensor just created while this scope is the innermost one.</summary>
    internal void Adopt(Tensor tensor)
    {
        tensor.Owner = this;
        owned!.Add(tensor);
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
            if (parent?.owned is { } list)
            {
                tensor.Owner = parent;
                list.Add(tensor);
            }
            else
            {
                tensor.Owner = null;
                tensor.ReleasedToCaller();
            }
        }
        return tensor;
    }

    /// <summary>Moves several tensors out at once; see <see cref="MoveOut(Tensor)"/>.</summary>
    public void MoveOut(params ReadOnlySpan<Tensor?> tensors)
    {
        foreach (var t in tensors) MoveOut(t);
    }

    /// <summary>
    /// Takes <paramref name="tensor"/> out of every scope: no scope will dispose it. For tensors that outlive any call,
    /// such as the static buffers of a captured CUDA graph. It gets the finalizer backstop a scoped tensor lacks.
    /// </summary>
    internal static void Escape(Tensor tensor)
    {
        if (tensor.Owner is null) return;
        tensor.Owner = null;
        tensor.ReleasedToCaller();
    }

    /// <summary>Disposes every tensor still owned by this scope and makes the enclosing scope current again.</summary>
    public void Dispose()
    {
        if (disposed) return;
        if (Environment.CurrentManagedThreadId != threadId)
            throw new InvalidOperationException("A TensorScope must be disposed on the thread that opened it.");
        var state = thread!; // set on this thread by the constructor
        if (!ReferenceEquals(state.Current, this))
            throw new InvalidOperationException(
                "TensorScopes must be disposed innermost first: an inner scope opened after this one is still open. " +
                "Open scopes with `using var scope = Torch.Scope();` so they close in order.");
        disposed = true;
        state.Current = parent;
        var tensors = owned!;
        owned = null;
        foreach (var t in tensors)
            if (ReferenceEquals(t.Owner, this)) t.Dispose();
        tensors.Clear();
        state.Spare = tensors;
    }
}
