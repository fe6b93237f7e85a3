using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

// Keys are counter-based: a draw depends on its key alone. These tests pin the cipher to its published vectors, the
// derivations and draws to recorded values, and check the draws' distributions.
public class KeyTests
{
    private TensorScope scope = null!;

    [SetUp]
    public void OpenScope() => scope = Torch.Scope();

    [TearDown]
    public void CloseScope() => scope.Dispose();

    // Random123's known-answer vectors for threefry2x32 with 20 rounds (kat_vectors: counter, key, result).
    [TestCase(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x6b200159u, 0x99ba4efeu)]
    [TestCase(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x1cb996fcu, 0xbb002be7u)]
    [TestCase(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xc4923a9cu, 0x483df7a0u)]
    public void Threefry2x32MatchesRandom123(uint counter0, uint counter1, uint key0, uint key1, uint expected0, uint expected1)
    {
        Assert.That(Key.Threefry2x32(key0, key1, counter0, counter1), Is.EqualTo((expected0, expected1)));
    }

    [Test]
    public void CreateSplitsTheSeedIntoTwoWords()
    {
        Assert.That(Key.Create(0), Is.EqualTo(new Key(0, 0)));
        Assert.That(Key.Create(42), Is.EqualTo(new Key(0, 42)));
        Assert.That(Key.Create((7L << 32) | 5), Is.EqualTo(new Key(7, 5)));
        Assert.That(Key.Create(-1), Is.EqualTo(new Key(uint.MaxValue, uint.MaxValue)));
        Assert.That(Key.Create(42).ToString(), Is.EqualTo("Key(00000000, 0000002a)"));
    }

    // Regression constants: the derivations are pure functions of the key; a change here changes every user's model.
    // The expected words were computed by an independent Python implementation of Threefry-2x32 (checked against
    // the vectors above): Split(n)[i] = threefry(key, (i, n)), FoldIn(d) = threefry(key, (d, 0)), and the
    // generator seed = threefry(key, (2^32-1, 2^32-1)) as hi:lo.
    [Test]
    public void DerivedKeysArePinned()
    {
        var key = Key.Create(42);
        var (a, b) = key.Split();
        Assert.That(a, Is.EqualTo(new Key(0x92fb20eau, 0x0f38d913u)));
        Assert.That(b, Is.EqualTo(new Key(0x2a4b19a5u, 0xff2d8efcu)));
        Assert.That(key.FoldIn(7), Is.EqualTo(new Key(0x9e49857fu, 0x568c35e8u)));
        Assert.That(key.Seed, Is.EqualTo(0x0d87197a5a4ff6a6ul));
    }

    [Test]
    public void SplitIsDeterministicAndGivesDistinctKeys()
    {
        var key = Key.Create(3);
        var keys = key.Split(100);
        Assert.That(key.Split(100), Is.EqualTo(keys));
        Assert.That(keys, Is.Unique);
        Assert.That(keys, Does.Not.Contain(key));
        var (first, second) = key.Split();
        Assert.That(key.Split(2), Is.EqualTo(new[] { first, second }));
        Assert.That(first, Is.Not.EqualTo(second));
        Assert.Throws<ArgumentOutOfRangeException>(() => key.Split(0));
    }

    [Test]
    public void FoldInDiffersFromSplitAndFromOtherData()
    {
        var key = Key.Create(11);
        var folded = Enumerable.Range(0, 100).Select(i => key.FoldIn((uint)i)).ToArray();
        Assert.That(folded, Is.Unique);
        Assert.That(folded, Does.Not.Contain(key));
        Assert.That(folded.Intersect(key.Split(2).Concat(key.Split(100))), Is.Empty);
        Assert.That(key.FoldIn(5), Is.EqualTo(key.FoldIn(5)));
        Assert.That(Key.Create(12).FoldIn(5), Is.Not.EqualTo(key.FoldIn(5)));
    }

    [Test]
    public void TheSameKeyGivesTheSameDrawsWhateverWasDrawnBefore()
    {
        var key = Key.Create(2024);
        long[] shape = [1000];
        var normal = Tensor.Normal(key, shape).ToArray<float>();
        var uniform = Tensor.Uniform(key, shape, -2, 3).ToArray<float>();
        var randint = Tensor.RandInt(key, shape, 0, 1000).ToArray<long>();
        var bernoulli = Tensor.Bernoulli(key, shape, 0.3).ToArray<bool>();

        foreach (var other in key.Split(5))
        {
            Tensor.Normal(other, [37]);
            Tensor.Uniform(other, [100]);
            Tensor.RandInt(other, [3], 0, 5);
            Tensor.Bernoulli(other, [17], 0.9);
        }

        Assert.That(Tensor.Normal(key, shape).ToArray<float>(), Is.EqualTo(normal));
        Assert.That(Tensor.Uniform(key, shape, -2, 3).ToArray<float>(), Is.EqualTo(uniform));
        Assert.That(Tensor.RandInt(key, shape, 0, 1000).ToArray<long>(), Is.EqualTo(randint));
        Assert.That(Tensor.Bernoulli(key, shape, 0.3).ToArray<bool>(), Is.EqualTo(bernoulli));
    }

    [Test]
    public void DrawsAreTheSameOnAnotherThread()
    {
        var key = Key.Create(77);
        var here = Tensor.Normal(key, [50]).ToArray<float>();
        float[]? there = null;
        var thread = new Thread(() =>
        {
            using var t = Tensor.Normal(key, [50]);
            there = t.ToArray<float>();
        });
        thread.Start();
        thread.Join();
        Assert.That(there, Is.EqualTo(here));
    }

    [Test]
    public void DifferentSplitKeysGiveDifferentDraws()
    {
        var (a, b) = Key.Create(5).Split();
        Assert.That(Tensor.Normal(a, [100]).ToArray<float>(), Is.Not.EqualTo(Tensor.Normal(b, [100]).ToArray<float>()));
        Assert.That(Tensor.Uniform(a, [100]).ToArray<float>(), Is.Not.EqualTo(Tensor.Uniform(b, [100]).ToArray<float>()));
        Assert.That(Tensor.RandInt(a, [100], 0, 1 << 20).ToArray<long>(), Is.Not.EqualTo(Tensor.RandInt(b, [100], 0, 1 << 20).ToArray<long>()));
        Assert.That(Tensor.Bernoulli(a, [100]).ToArray<bool>(), Is.Not.EqualTo(Tensor.Bernoulli(b, [100]).ToArray<bool>()));
        var folded = Key.Create(5).FoldIn(0);
        Assert.That(Tensor.Normal(folded, [100]).ToArray<float>(), Is.Not.EqualTo(Tensor.Normal(a, [100]).ToArray<float>()));
    }

    // Every bit of a key must matter. A generator seeded from 32 bits has only 2^32 streams, so among some 10^5 keys
    // two would already share one (a birthday collision): find two keys whose seeds agree in their low 32 bits.
    [Test]
    public void KeysWhoseSeedsShareTheirLow32BitsStillGiveDifferentDraws()
    {
        var root = Key.Create(0);
        var seen = new Dictionary<uint, Key>();
        Key first = default, second = default;
        for (uint i = 0; ; i++)
        {
            Assert.That(i, Is.LessThan(2_000_000u), "no pair of keys with equal low seed words found");
            var key = root.FoldIn(i);
            if (seen.TryGetValue((uint)key.Seed, out first) && first != key)
            {
                second = key;
                break;
            }
            seen[(uint)key.Seed] = key;
        }
        Assert.That(first.Seed, Is.Not.EqualTo(second.Seed));

        Assert.That(Tensor.Normal(first, [8]).ToArray<float>(), Is.Not.EqualTo(Tensor.Normal(second, [8]).ToArray<float>()));
        Assert.That(Tensor.RandInt(first, [8], 0, 1 << 30).ToArray<long>(), Is.Not.EqualTo(Tensor.RandInt(second, [8], 0, 1 << 30).ToArray<long>()));
    }

    // The generator behind a key is MT19937 initialised by Matsumoto and Nishimura's init_by_array with the seed's
    // two 32-bit words (low first). The expected words come from NumPy's legacy generator, an independent
    // implementation: np.random.RandomState(np.array([lo, hi], np.uint32)).randint(0, 2**32, 4, np.uint64).
    [Test]
    public void TheGeneratorIsMt19937SeededByBothWordsOfTheKeySeed()
    {
        var key = Key.Create(42);
        Assert.That(key.Seed, Is.EqualTo(0x0d87197a5a4ff6a6ul));
        // randint below 2^31 on the CPU is the generator's 32-bit output modulo the range.
        var drawn = Tensor.RandInt(key, [4], 0, 1L << 31).ToArray<long>();
        long[] expected = [0xd98dae03L & 0x7fffffff, 0x8ea467b0L & 0x7fffffff, 0x625a01bdL & 0x7fffffff, 0xefbb8d0fL & 0x7fffffff];
        Assert.That(drawn, Is.EqualTo(expected));
    }

    // Regression constants for the draws themselves: LibTorch's CPU transforms of the generator's words. The words
    // are those NumPy gives above, so these follow by hand: Uniform = (w & 0xFFFFFF) / 2^24, RandInt = low + w % range,
    // Bernoulli = (53-bit double from two words) < p. Normal is pinned as recorded, for the scalar path (< 16
    // elements) and the vectorised one, within float rounding of the transcendental functions.
    [Test]
    public void DrawsOfAFixedKeyArePinned()
    {
        var key = Key.Create(42);
        Assert.That(Tensor.Uniform(key, [4]).ToArray<float>(),
            Is.EqualTo(new[] { 0.55343646f, 0.64220715f, 0.35158902f, 0.73262113f }));
        Assert.That(Tensor.RandInt(key, [6], 0, 10).ToArray<long>(), Is.EqualTo(new long[] { 5, 0, 3, 7, 7, 7 }));
        Assert.That(Tensor.Bernoulli(key, [8], 0.5).ToArray<bool>(),
            Is.EqualTo(new[] { true, false, true, true, true, true, true, false }));
        Assert.That(Tensor.Normal(key, [4]).ToArray<float>(),
            Is.EqualTo(new[] { -1.643674f, 0.80533093f, 0.46029156f, 0.9513409f }).Within(1e-6f));
        Assert.That(Tensor.Normal(key, [20]).ToArray<float>(),
            Is.EqualTo(new[]
            {
                0.13690895f, 1.4058821f, -0.65039426f, 1.198456f, -1.2899126f, -0.59987664f, -1.3678534f, -1.0898913f,
                0.3907381f, -1.7569956f, -0.93618894f, -0.6315201f, 0.99033064f, -0.1400718f, -0.5609522f, -1.4476422f,
                -0.299844f, -1.1979119f, 0.6853691f, -1.3843712f,
            }).Within(1e-5f));
    }

    [Test]
    public void NormalHasMeanZeroAndStandardDeviationOne()
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.Normal(Key.Create(1), [100_000], dtype).To(DType.Float64);
            // Standard errors: 0.0032 for the mean, 0.0022 for the standard deviation.
            Assert.That(x.Mean().Item<double>(), Is.EqualTo(0).Within(0.015), dtype.ShortName());
            Assert.That(Math.Sqrt(x.Var().Item<double>()), Is.EqualTo(1).Within(0.01), dtype.ShortName());
            Assert.That(x.Gt(0.0).To(DType.Float64).Mean().Item<double>(), Is.EqualTo(0.5).Within(0.006), "symmetric about 0");
        }
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Float16)]
    [TestCase(DType.BFloat16)]
    public void UniformStaysInsideItsHalfOpenInterval(DType dtype)
    {
        foreach (var (low, high) in new[] { (0.0, 1.0), (-2.0, 3.0), (-1.0, 0.0) })
        {
            var x = Tensor.Uniform(Key.Create(9), [100_000], low, high, dtype);
            Assert.That(x.DType, Is.EqualTo(dtype));
            var values = x.To(DType.Float64);
            Assert.That(values.Min().Item<double>(), Is.GreaterThanOrEqualTo(low), $"{dtype.ShortName()} [{low}, {high})");
            Assert.That(values.Max().Item<double>(), Is.LessThan(high), $"{dtype.ShortName()} [{low}, {high})");
            Assert.That(values.Mean().Item<double>(), Is.EqualTo((low + high) / 2).Within(0.01 * (high - low)));
        }
    }

    [Test]
    public void RandIntCoversExactlyLowToHighExclusive()
    {
        var x = Tensor.RandInt(Key.Create(4), [10_000], -3, 4).ToArray<long>();
        Assert.That(x.Distinct().Order(), Is.EqualTo(new long[] { -3, -2, -1, 0, 1, 2, 3 }));
        foreach (var count in x.GroupBy(v => v).Select(g => g.Count()))
            Assert.That(count, Is.EqualTo(10_000 / 7).Within(150), "roughly uniform");
        Assert.Throws<ArgumentException>(() => Tensor.RandInt(Key.Create(4), [1], 5, 5));
    }

    [TestCase(0.0)]
    [TestCase(0.1)]
    [TestCase(0.5)]
    [TestCase(0.9)]
    [TestCase(1.0)]
    public void BernoulliFrequencyIsP(double p)
    {
        var x = Tensor.Bernoulli(Key.Create(8), [100_000], p);
        Assert.That(x.DType, Is.EqualTo(DType.Bool));
        Assert.That(x.To(DType.Float64).Mean().Item<double>(), Is.EqualTo(p).Within(0.006));
    }

    [Test]
    public void InvalidParametersAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Bernoulli(Key.Create(0), [1], 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Bernoulli(Key.Create(0), [1], double.NaN));
        Assert.Throws<ArgumentException>(() => Tensor.Uniform(Key.Create(0), [1], 1, 1));
        var e = Assert.Throws<ArgumentException>(() => Tensor.Normal(Key.Create(0), [1], DType.Int64))!;
        Assert.That(e.Message, Does.Contain("i64").And.Contain(".To("));
    }

    // Narrow float dtypes draw in f32 and round, so the same key gives the same numbers at every precision it can
    // hold; integer and bool draws are the same whatever dtype holds them.
    [Test]
    public void TheSameKeyGivesTheSameValuesAcrossDtypes()
    {
        var key = Key.Create(31);
        long[] shape = [1000];
        var normal = Tensor.Normal(key, shape);
        Assert.That(Tensor.Normal(key, shape, DType.Float16).ToArray<Half>(), Is.EqualTo(normal.To(DType.Float16).ToArray<Half>()));
        Assert.That(Tensor.Normal(key, shape, DType.BFloat16).ToArray<BFloat16>(), Is.EqualTo(normal.To(DType.BFloat16).ToArray<BFloat16>()));
        var uniform = Tensor.Uniform(key, shape);
        Assert.That(Tensor.Uniform(key, shape, dtype: DType.Float16).To(DType.Float32).ToArray<float>(),
            Is.EqualTo(uniform.ToArray<float>()).Within(1e-3f));

        var ints = Tensor.RandInt(key, shape, -50, 50).ToArray<long>();
        Assert.That(Tensor.RandInt(key, shape, -50, 50, DType.Int32).ToArray<int>(), Is.EqualTo(ints.Select(v => (int)v)));
        Assert.That(Tensor.RandInt(key, shape, -50, 50, DType.Float32).ToArray<float>(), Is.EqualTo(ints.Select(v => (float)v)));

        var coins = Tensor.Bernoulli(key, shape, 0.4).ToArray<bool>();
        Assert.That(Tensor.Bernoulli(key, shape, 0.4, DType.Float32).ToArray<float>(), Is.EqualTo(coins.Select(c => c ? 1f : 0f)));
        Assert.That(Tensor.Bernoulli(key, shape, 0.4, DType.Float64).ToArray<double>(), Is.EqualTo(coins.Select(c => c ? 1.0 : 0.0)));
        Assert.That(Tensor.Bernoulli(key, shape, 0.4, DType.Int64).ToArray<long>(), Is.EqualTo(coins.Select(c => c ? 1L : 0L)));
    }

    // f64 draws are a stream of their own at full double precision (as in jax.random), not widened f32 draws.
    [Test]
    public void Float64DrawsUseDoublePrecision()
    {
        var x = Tensor.Uniform(Key.Create(6), [1000], dtype: DType.Float64).ToArray<double>();
        Assert.That(x.Count(v => (double)(float)v != v), Is.GreaterThan(900));
        Assert.That(Tensor.Uniform(Key.Create(6), [1000], dtype: DType.Float64).ToArray<double>(), Is.EqualTo(x));
    }

    [Test]
    public void DropoutMasksFollowTheKey()
    {
        var x = Tensor.Ones(1000);
        var key = Key.Create(13);
        var once = Functional.Dropout(x, 0.25, key).ToArray<float>();
        Assert.That(Functional.Dropout(x, 0.25, key).ToArray<float>(), Is.EqualTo(once));
        Assert.That(Functional.Dropout(x, 0.25, key.FoldIn(1)).ToArray<float>(), Is.Not.EqualTo(once));
        Assert.That(once.Distinct().Order(), Is.EqualTo(new[] { 0f, 1f / 0.75f }));
        Assert.That(once.Count(v => v == 0) / 1000.0, Is.EqualTo(0.25).Within(0.05));
    }
}
