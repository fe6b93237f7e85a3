namespace Equinox.Tensors;

/// <summary>Kinds of device. The values are LibTorch's <c>c10::DeviceType</c> codes.</summary>
public enum DeviceType
{
    /// <summary>The host processor.</summary>
    Cpu = 0,
    /// <summary>An NVIDIA GPU.</summary>
    Cuda = 1,
}

/// <summary>Where a tensor's memory lives: <see cref="Cpu"/> or <see cref="Cuda(int)"/>.</summary>
public readonly record struct Device(DeviceType Type, int Index)
{
    /// <summary>The host processor.</summary>
    public static Device Cpu => new(DeviceType.Cpu, 0);

    /// <summary>The CUDA device with ordinal <paramref name="index"/>.</summary>
    public static Device Cuda(int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return new(DeviceType.Cuda, index);
    }

    /// <summary><c>cpu</c> or <c>cuda:N</c>, as PyTorch writes devices.</summary>
    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";
}
