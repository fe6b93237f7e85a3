namespace Equinox.Distributed;

/// <summary>How <see cref="ProcessGroup.AllReduce{T}"/> combines the ranks' values, element by element.</summary>
public enum ReduceOp
{
    /// <summary>The sum over ranks.</summary>
    Sum = 0,

    /// <summary>The product over ranks.</summary>
    Product = 1,

    /// <summary>The smallest value over ranks.</summary>
    Min = 2,

    /// <summary>The largest value over ranks.</summary>
    Max = 3,
}
