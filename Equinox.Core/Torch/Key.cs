namespace Equinox.Tensors;

/// <summary>
/// A counter-based PRNG key, as in <c>jax.random</c>: an immutable pair of 32-bit words. Derive new keys with
/// <see cref="Split()"/> and <see cref="FoldIn"/> (Threefry-2x32 hashes, so the result depends on the key and the
/// counter alone), and pass a key to every random draw. The same key always gives the same numbers, whatever was
/// drawn before; never reuse a key for two draws you want independent.
/// </summary>
public readonly record struct Key(uint Hi, uint Lo)
{
    /// <summary>The key for an integer seed (like <c>jax.random.PRNGKey(seed)</c>).</summary>
    public static Key Create(long seed) => new((uint)((ulong)seed >> 32), (uint)seed);

    /// <summary>Two new independent keys.</summary>
    public (Key, Key) Split()
    {
        var keys = Split(2);
        return (keys[0], keys[1]);
    }

    /// <summary><paramref name="count"/> new independent keys.</summary>
    public Key[] Split(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var keys = new Key[count];
        // (i, count) with i < count never equals FoldIn's (data, 0) or the seed counter (max, max).
        for (int i = 0; i < count; i++) keys[i] = Hash((uint)i, (uint)count);
        return keys;
    }

    /// <summary>A new key that mixes <paramref name="data"/> into this one (e.g. a step number or layer index).</summary>
    public Key FoldIn(uint data) => Hash(data, 0);

    /// <summary>The 64-bit seed of the generator that draws this key's random numbers.</summary>
    internal ulong Seed
    {
        get
        {
            var (x0, x1) = Threefry2x32(Hi, Lo, uint.MaxValue, uint.MaxValue);
            return ((ulong)x0 << 32) | x1;
        }
    }

    private Key Hash(uint counter0, uint counter1)
    {
        var (x0, x1) = Threefry2x32(Hi, Lo, counter0, counter1);
        return new Key(x0, x1);
    }

    /// <summary>The Threefry-2x32 block cipher with 20 rounds (Salmon et al., 2011), as jax.random uses it.</summary>
    internal static (uint, uint) Threefry2x32(uint key0, uint key1, uint x0, uint x1)
    {
        ReadOnlySpan<int> rotations = [13, 15, 26, 6, 17, 29, 16, 24];
        Span<uint> ks = [key0, key1, key0 ^ key1 ^ 0x1BD11BDA];
        x0 += ks[0];
        x1 += ks[1];
        for (int block = 0; block < 5; block++)
        {
            int offset = (block % 2) * 4;
            for (int r = 0; r < 4; r++)
            {
                x0 += x1;
                x1 = uint.RotateLeft(x1, rotations[offset + r]);
                x1 ^= x0;
            }
            x0 += ks[(block + 1) % 3];
            x1 += ks[(block + 2) % 3] + (uint)(block + 1);
        }
        return (x0, x1);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Key({Hi:x8}, {Lo:x8})";
}
