using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

// Creation, metadata, printing, conversions and the in-place updates of the Tensor binding.
public class TensorBasicsTests
{
    private TensorScope scope = null!;

    [SetUp]
    public void OpenScope() => scope = Torch.Scope();

    [TearDown]
    public void CloseScope() => scope.Dispose();

    private static void AssertRoundTrip<T>(T[] values, DType dtype) where T : unmanaged
    {
        var t = Tensor.FromArray(values);
        Assert.That(t.DType, Is.EqualTo(dtype));
        Assert.That(t.Shape, Is.EqualTo(new long[] { values.Length }));
        Assert.That(t.Bytes, Is.EqualTo(values.Length * dtype.ElementSize()));
        Assert.That(t.ToArray<T>(), Is.EqualTo(values), dtype.ShortName());

        var matrix = Tensor.FromArray(values, 2, values.Length / 2);
        Assert.That(matrix.Shape, Is.EqualTo(new long[] { 2, values.Length / 2 }));
        Assert.That(matrix.ToArray<T>(), Is.EqualTo(values), "row-major");
        Assert.That(matrix.Select(0, 1).ToArray<T>(), Is.EqualTo(values[(values.Length / 2)..]), "the second row is the second half");
    }

    // ---- FromArray / ToArray for every dtype ------------------------------------------------------------------

    [Test] public void RoundTripFloat16() => AssertRoundTrip(new[] { (Half)1.5, (Half)(-2), Half.MaxValue, Half.Epsilon, (Half)0.1, Half.NegativeInfinity }, DType.Float16);
    [Test] public void RoundTripBFloat16() => AssertRoundTrip(new[] { (BFloat16)1.5f, (BFloat16)(-2f), (BFloat16)3.0e38f, (BFloat16)1e-38f }, DType.BFloat16);
    [Test] public void RoundTripFloat32() => AssertRoundTrip(new[] { 1.5f, -2f, float.MaxValue, float.Epsilon, 0.1f, float.NegativeInfinity }, DType.Float32);
    [Test] public void RoundTripFloat64() => AssertRoundTrip(new[] { 1.5, -2, double.MaxValue, double.Epsilon, 0.1, Math.PI }, DType.Float64);
    [Test] public void RoundTripInt8() => AssertRoundTrip(new sbyte[] { sbyte.MinValue, -1, 0, sbyte.MaxValue }, DType.Int8);
    [Test] public void RoundTripInt16() => AssertRoundTrip(new short[] { short.MinValue, -1, 0, short.MaxValue }, DType.Int16);
    [Test] public void RoundTripInt32() => AssertRoundTrip(new[] { int.MinValue, -1, 0, int.MaxValue }, DType.Int32);
    [Test] public void RoundTripInt64() => AssertRoundTrip(new[] { long.MinValue, -1, 0, long.MaxValue }, DType.Int64);
    [Test] public void RoundTripUInt8() => AssertRoundTrip(new byte[] { 0, 1, 128, 255 }, DType.UInt8);
    [Test] public void RoundTripBool() => AssertRoundTrip(new[] { true, false, false, true }, DType.Bool);

    [Test]
    public void NaNSurvivesTheRoundTrip()
    {
        Assert.That(float.IsNaN(Tensor.FromArray(new[] { float.NaN }).ToArray<float>()[0]), Is.True);
        Assert.That(Half.IsNaN(Tensor.FromArray(new[] { Half.NaN }).ToArray<Half>()[0]), Is.True);
    }

    [Test]
    public void FromArrayOfARectangularArrayKeepsRowsAndColumns()
    {
        var t = Tensor.FromArray(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.That(t.Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(t.ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(t[1, 0].Item<float>(), Is.EqualTo(4f));
        Assert.That(Tensor.FromArray(new long[,] { { 7 }, { 8 } }).Shape, Is.EqualTo(new long[] { 2, 1 }));
    }

    [Test]
    public void FromSpanCopiesTheData()
    {
        Span<int> data = stackalloc int[] { 1, 2, 3, 4, 5, 6 };
        var t = Tensor.FromSpan<int>(data, 3, 2);
        data[0] = 100;
        Assert.That(t.DType, Is.EqualTo(DType.Int32));
        Assert.That(t.Shape, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(t.ToArray<int>(), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }), "the tensor holds a copy");
        var array = new float[] { 1, 2 };
        var fromArray = Tensor.FromArray(array);
        array[0] = 9;
        Assert.That(fromArray.ToArray<float>(), Is.EqualTo(new float[] { 1, 2 }));
    }

    [Test]
    public void EmptyDataGivesAnEmptyTensor()
    {
        var t = Tensor.FromArray(Array.Empty<float>());
        Assert.That(t.Shape, Is.EqualTo(new long[] { 0 }));
        Assert.That(t.NumberOfElements, Is.Zero);
        Assert.That(t.ToArray<float>(), Is.Empty);
        Assert.That(t.ToString(), Is.EqualTo("f32[0] []"));
        Assert.That(Tensor.FromArray(Array.Empty<float>(), 2, 0).Shape, Is.EqualTo(new long[] { 2, 0 }));
    }

    [Test]
    public void CopyToFillsASpan()
    {
        var t = Tensor.Arange(4, DType.Int32);
        Span<int> destination = stackalloc int[4];
        t.CopyTo(destination);
        Assert.That(destination.ToArray(), Is.EqualTo(new[] { 0, 1, 2, 3 }));
    }

    // ---- creation ---------------------------------------------------------------------------------------------

    [Test]
    public void ScalarOverloadsPickTheirDtype()
    {
        Assert.That(Tensor.Scalar(2.5f).DType, Is.EqualTo(DType.Float32));
        Assert.That(Tensor.Scalar(2.5).DType, Is.EqualTo(DType.Float64));
        Assert.That(Tensor.Scalar(7L).DType, Is.EqualTo(DType.Int64));
        Assert.That(Tensor.Scalar(7).DType, Is.EqualTo(DType.Int64), "an int literal picks the integer overload");
        Assert.That(Tensor.Scalar(true).DType, Is.EqualTo(DType.Bool));
        Assert.That(Tensor.Scalar(7L, DType.Int32).DType, Is.EqualTo(DType.Int32));
        Assert.That(Tensor.Scalar(2.5, DType.Float16).Item<float>(), Is.EqualTo(2.5f));

        var s = Tensor.Scalar(2.5f);
        Assert.That(s.Shape, Is.Empty);
        Assert.That(s.Rank, Is.Zero);
        Assert.That(s.NumberOfElements, Is.EqualTo(1));
        Assert.That(s.Item<float>(), Is.EqualTo(2.5f));
        Assert.That(Tensor.Scalar(long.MaxValue).Item<long>(), Is.EqualTo(long.MaxValue), "no detour through double");
    }

    [Test]
    public void ZerosAndOnes()
    {
        var z = Tensor.Zeros(2, 3);
        Assert.That(z.DType, Is.EqualTo(DType.Float32));
        Assert.That(z.Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(z.ToArray<float>(), Is.All.EqualTo(0f));
        Assert.That(Tensor.Ones(4).ToArray<float>(), Is.All.EqualTo(1f));
        Assert.That(Tensor.Zeros([3], DType.Int32).ToArray<int>(), Is.EqualTo(new[] { 0, 0, 0 }));
        Assert.That(Tensor.Ones([2], DType.Bool).ToArray<bool>(), Is.EqualTo(new[] { true, true }));
        Assert.That(Tensor.Ones([2], DType.Float64, Device.Cpu).ToArray<double>(), Is.EqualTo(new[] { 1.0, 1.0 }));
        Assert.That(Tensor.Zeros().Shape, Is.Empty, "no sizes: a 0-dimensional tensor");
    }

    [Test]
    public void FullOverloadsPickTheirDtype()
    {
        var f = Tensor.Full([2], 1.5);
        Assert.That(f.DType, Is.EqualTo(DType.Float32));
        Assert.That(f.ToArray<float>(), Is.EqualTo(new[] { 1.5f, 1.5f }));
        Assert.That(Tensor.Full([2], 1.5f).DType, Is.EqualTo(DType.Float32));
        Assert.That(Tensor.Full([1], 0.1, DType.Float64).ToArray<double>(), Is.EqualTo(new[] { 0.1 }));

        var i = Tensor.Full([2], 7L);
        Assert.That(i.DType, Is.EqualTo(DType.Int64));
        Assert.That(i.ToArray<long>(), Is.EqualTo(new long[] { 7, 7 }));
        Assert.That(Tensor.Full([2], 7).DType, Is.EqualTo(DType.Int64), "an int literal picks the integer overload");
        Assert.That(Tensor.Full([1], long.MaxValue).ToArray<long>(), Is.EqualTo(new[] { long.MaxValue }), "no detour through double");
        Assert.That(Tensor.Full([2], 3L, DType.Float32).ToArray<float>(), Is.EqualTo(new[] { 3f, 3f }));
        Assert.That(Tensor.Full([2], -5L, DType.Int8).ToArray<sbyte>(), Is.EqualTo(new sbyte[] { -5, -5 }));
    }

    [Test]
    public void Arange()
    {
        var a = Tensor.Arange(5);
        Assert.That(a.DType, Is.EqualTo(DType.Int64));
        Assert.That(a.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 2, 3, 4 }));
        Assert.That(Tensor.Arange(2, 10, 3).ToArray<long>(), Is.EqualTo(new long[] { 2, 5, 8 }));
        Assert.That(Tensor.Arange(5, 0, -2).ToArray<long>(), Is.EqualTo(new long[] { 5, 3, 1 }));
        Assert.That(Tensor.Arange(3, DType.Float32).ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 2 }));
        var f = Tensor.Arange(0.0, 1.0, 0.25);
        Assert.That(f.DType, Is.EqualTo(DType.Float32));
        Assert.That(f.ToArray<float>(), Is.EqualTo(new[] { 0f, 0.25f, 0.5f, 0.75f }));
        Assert.That(Tensor.Arange(0.0, 1.0, 0.5, DType.Float64).ToArray<double>(), Is.EqualTo(new[] { 0.0, 0.5 }));
    }

    [Test]
    public void Linspace()
    {
        var l = Tensor.Linspace(0, 1, 5);
        Assert.That(l.DType, Is.EqualTo(DType.Float32));
        Assert.That(l.ToArray<float>(), Is.EqualTo(new[] { 0f, 0.25f, 0.5f, 0.75f, 1f }));
        Assert.That(Tensor.Linspace(-1, 1, 3, DType.Float64).ToArray<double>(), Is.EqualTo(new[] { -1.0, 0, 1 }));
        Assert.That(Tensor.Linspace(2, 2, 1).ToArray<float>(), Is.EqualTo(new[] { 2f }));
    }

    [Test]
    public void Eye()
    {
        Assert.That(Tensor.Eye(2).ToString(), Is.EqualTo("f32[2,2] [[1, 0], [0, 1]]"));
        Assert.That(Tensor.Eye(2, 3).ToString(), Is.EqualTo("f32[2,3] [[1, 0, 0], [0, 1, 0]]"));
        Assert.That(Tensor.Eye(2, dtype: DType.Int64).ToString(), Is.EqualTo("i64[2,2] [[1, 0], [0, 1]]"));
    }

    [Test]
    public void EmptyHasTheShapeAndDtypeAsked()
    {
        var e = Tensor.Empty([2, 3]);
        Assert.That(e.Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(e.DType, Is.EqualTo(DType.Float32));
        Assert.That(Tensor.Empty([4], DType.Int16).Bytes, Is.EqualTo(8));
    }

    [Test]
    public void LikeConstructorsCopyShapeDtypeAndDevice()
    {
        var t = Tensor.FromArray(new[] { 5, 6, 7, 8 }, 2, 2);
        var z = t.ZerosLike();
        Assert.That(z.DType, Is.EqualTo(DType.Int32));
        Assert.That(z.Shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(z.Device, Is.EqualTo(t.Device));
        Assert.That(z.ToArray<int>(), Is.EqualTo(new[] { 0, 0, 0, 0 }));
        Assert.That(t.OnesLike().ToArray<int>(), Is.EqualTo(new[] { 1, 1, 1, 1 }));
        Assert.That(Tensor.Ones(2).FullLike(0.5).ToArray<float>(), Is.EqualTo(new[] { 0.5f, 0.5f }));
        Assert.That(t.ToArray<int>(), Is.EqualTo(new[] { 5, 6, 7, 8 }), "the original is untouched");
    }

    // ---- metadata ---------------------------------------------------------------------------------------------

    [Test]
    public void Metadata()
    {
        var t = Tensor.Zeros([2, 3, 4], DType.Float64);
        Assert.That(t.Shape, Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(t.Rank, Is.EqualTo(3));
        Assert.That(t.DType, Is.EqualTo(DType.Float64));
        Assert.That(t.Device, Is.EqualTo(Device.Cpu));
        Assert.That(t.NumberOfElements, Is.EqualTo(24));
        Assert.That(t.Bytes, Is.EqualTo(192));
        Assert.That(t.Size(0), Is.EqualTo(2));
        Assert.That(t.Size(-1), Is.EqualTo(4));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => t.Size(3))!.Message, Does.Contain("f64[2,3,4]"));
        Assert.That(Tensor.Ones([5], DType.Bool).Bytes, Is.EqualTo(5));
    }

    [Test]
    public void ShapeOfAViewIsItsOwn()
    {
        var t = Tensor.Arange(6).Reshape(2, 3);
        Assert.That(t.T.Shape, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(t.Shape, Is.EqualTo(new long[] { 2, 3 }));
    }

    // ---- printing ---------------------------------------------------------------------------------------------

    [Test]
    public void ToStringShowsTheSummaryAndTheValues()
    {
        Assert.That(Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3).ToString(), Is.EqualTo("f32[2,3] [[1, 2, 3], [4, 5, 6]]"));
        Assert.That(Tensor.Arange(3).ToString(), Is.EqualTo("i64[3] [0, 1, 2]"));
        Assert.That(Tensor.FromArray(new[] { true, false }).ToString(), Is.EqualTo("bool[2] [true, false]"));
        Assert.That(Tensor.Scalar(2.5f).ToString(), Is.EqualTo("f32[] 2.5"));
        Assert.That(Tensor.FromArray(new[] { 0.1f, -1.5f, 1e-7f }).ToString(), Is.EqualTo("f32[3] [0.1, -1.5, 1E-07]"));
        Assert.That(Tensor.FromArray(new[] { (Half)0.5 }).ToString(), Is.EqualTo("f16[1] [0.5]"));
        Assert.That(Tensor.FromArray(new[] { (BFloat16)3f }).ToString(), Is.EqualTo("bf16[1] [3]"));
        Assert.That(Tensor.FromArray(new byte[] { 255 }).ToString(), Is.EqualTo("u8[1] [255]"));
        Assert.That(Tensor.FromArray(new[] { float.NaN, float.PositiveInfinity }).ToString(), Is.EqualTo("f32[2] [NaN, Infinity]"));
        Assert.That(Tensor.Zeros([2, 1, 2], DType.Int32).ToString(), Is.EqualTo("i32[2,1,2] [[[0, 0]], [[0, 0]]]"));
    }

    [Test]
    public void IntegersPrintEveryDigit()
    {
        Assert.That(Tensor.FromArray(new[] { long.MaxValue, long.MinValue, -1L }).ToString(),
            Is.EqualTo("i64[3] [9223372036854775807, -9223372036854775808, -1]"));
        Assert.That(Tensor.Scalar((1L << 53) + 1).ToString(), Is.EqualTo("i64[] 9007199254740993"));
        Assert.That(Tensor.FromArray(new[] { int.MinValue }).ToString(), Is.EqualTo("i32[1] [-2147483648]"));
    }

    [Test]
    public void LargeTensorsPrintOnlyTheSummary()
    {
        Assert.That(Tensor.Zeros(100).ToString(), Is.EqualTo("f32[100]"));
        Assert.That(Tensor.Zeros(33).ToString(), Is.EqualTo("f32[33]"));
        Assert.That(Tensor.Zeros(32).ToString(), Does.StartWith("f32[32] [0, 0,"), "32 elements still print");
        Assert.That(Tensor.Zeros([1], DType.Complex64).ToString(), Is.EqualTo("c64[1]"));
    }

    [Test]
    public void Describe()
    {
        Assert.That(Tensor.Zeros(2, 3).Describe(), Is.EqualTo("f32[2,3]"));
        Assert.That(Tensor.Scalar(1L).Describe(), Is.EqualTo("i64[]"));
        Assert.That(Tensor.Zeros([0, 4], DType.BFloat16).Describe(), Is.EqualTo("bf16[0,4]"));
        var t = Tensor.Zeros(1);
        t.Dispose();
        Assert.That(t.Describe(), Is.EqualTo("<disposed tensor>"));
    }

    [Test]
    public void ToStringDoesNotLeaveTensorsBehind()
    {
        var t = Tensor.FromArray(new[] { 1, 2 });
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long live = Torch.LiveTensors;
        _ = t.ToString();
        Assert.That(Torch.LiveTensors, Is.EqualTo(live));
    }

    // ---- Item -------------------------------------------------------------------------------------------------

    [Test]
    public void ItemConvertsAsCSharpWould()
    {
        Assert.That(Tensor.Scalar(2.75f).Item<float>(), Is.EqualTo(2.75f));
        Assert.That(Tensor.Scalar(2.75f).Item<double>(), Is.EqualTo(2.75));
        Assert.That(Tensor.Scalar(0.1).Item<double>(), Is.EqualTo(0.1));
        Assert.That(Tensor.Scalar(-2.75).Item<long>(), Is.EqualTo(-2L), "truncates toward zero");
        Assert.That(Tensor.Scalar(-2.75).Item<int>(), Is.EqualTo(-2));
        Assert.That(Tensor.Scalar(41L).Item<long>(), Is.EqualTo(41L));
        Assert.That(Tensor.Scalar(41L).Item<int>(), Is.EqualTo(41));
        Assert.That(Tensor.Scalar(41L).Item<double>(), Is.EqualTo(41.0));
        Assert.That(Tensor.Scalar(true).Item<bool>(), Is.True);
        Assert.That(Tensor.Scalar(false).Item<bool>(), Is.False);
        Assert.That(Tensor.Scalar(0.5).Item<bool>(), Is.True, "non-zero is true");
        Assert.That(Tensor.Scalar(3L, DType.Int32).Item<long>(), Is.EqualTo(3L));
        Assert.That(Tensor.Scalar(1.5, DType.Float16).Item<Half>(), Is.EqualTo((Half)1.5));
        Assert.That(Tensor.Scalar(200L, DType.UInt8).Item<byte>(), Is.EqualTo((byte)200));
        Assert.That(Tensor.FromArray(new[] { 9.0f }, 1, 1).Item<float>(), Is.EqualTo(9f), "any one-element shape");
        Assert.That(Tensor.Scalar(long.MinValue).Item<long>(), Is.EqualTo(long.MinValue));
    }

    // ---- conversions ------------------------------------------------------------------------------------------

    [Test]
    public void ToDtypeConverts()
    {
        var f = Tensor.FromArray(new[] { 1.7f, -1.7f, 0f, 300f });
        Assert.That(f.To(DType.Int32).ToArray<int>(), Is.EqualTo(new[] { 1, -1, 0, 300 }), "truncates toward zero");
        Assert.That(f.To(DType.Bool).ToArray<bool>(), Is.EqualTo(new[] { true, true, false, true }));
        Assert.That(f.To(DType.Float64).ToArray<double>(), Is.EqualTo(new[] { (double)1.7f, (double)-1.7f, 0, 300 }));
        Assert.That(f.To(DType.Float16).ToArray<Half>(), Is.EqualTo(new[] { (Half)1.7f, (Half)(-1.7f), (Half)0, (Half)300 }));
        Assert.That(f.To(DType.BFloat16).ToArray<BFloat16>(), Is.EqualTo(new[] { (BFloat16)1.7f, (BFloat16)(-1.7f), (BFloat16)0f, (BFloat16)300f }));
        Assert.That(Tensor.FromArray(new[] { true, false }).To(DType.Float32).ToArray<float>(), Is.EqualTo(new[] { 1f, 0f }));
        Assert.That(Tensor.Arange(3).To(DType.Float64).ToArray<double>(), Is.EqualTo(new[] { 0.0, 1, 2 }));
        Assert.That(Tensor.FromArray(new[] { 255, 256, -1 }).To(DType.UInt8).ToArray<byte>(), Is.EqualTo(new byte[] { 255, 0, 255 }), "wraps");
    }

    [Test]
    public void ToTheSameDtypeOrDeviceIsTheSameTensor()
    {
        var t = Tensor.Ones(3);
        var same = t.To(DType.Float32);
        Assert.That(same, Is.Not.SameAs(t), "a new handle");
        Assert.That(same.IsSameAs(t), Is.True, "to the same native tensor");
        var onCpu = t.To(Device.Cpu);
        Assert.That(onCpu.IsSameAs(t), Is.True);
        Assert.That(onCpu.Device, Is.EqualTo(Device.Cpu));
        Assert.That(t.To(DType.Float64).SharesStorageWith(t), Is.False);
    }

    [Test]
    public void CloneIsIndependent()
    {
        var t = Tensor.FromArray(new float[] { 1, 2, 3 });
        var c = t.Clone();
        Assert.That(c.SharesStorageWith(t), Is.False);
        c.AddInPlace(Tensor.Ones(3));
        t.MulInPlace(10.0);
        Assert.That(c.ToArray<float>(), Is.EqualTo(new float[] { 2, 3, 4 }));
        Assert.That(t.ToArray<float>(), Is.EqualTo(new float[] { 10, 20, 30 }));
    }

    [Test]
    public void AddInPlaceOverSeveralTensorsAddsEachScaledPairOutsideAutograd()
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new float[] { 1, 2 });
        var b = Tensor.FromArray(new double[] { 10, 20, 30 });
        var w = Tensor.FromArray(new float[] { 1, 1 }).WithRequiresGrad(); // a leaf: in place only outside autograd
        Tensor.AddInPlace([a, b, w], [Tensor.Ones(2), Tensor.FromArray(new double[] { 1, 2, 3 }), Tensor.Ones(2)], alpha: -0.5);
        Assert.That(a.ToArray<float>(), Is.EqualTo(new float[] { 0.5f, 1.5f }));
        Assert.That(b.ToArray<double>(), Is.EqualTo(new double[] { 9.5, 19, 28.5 }));
        Assert.That(w.ToArray<float>(), Is.EqualTo(new float[] { 0.5f, 0.5f }));
        var e = Assert.Throws<ArgumentException>(() => Tensor.AddInPlace([a, b], [a]));
        Assert.That(e!.Message, Does.StartWith("AddInPlace got 2 targets but 1 tensors to add; give one per target."));
        var shapes = Assert.Throws<TorchException>(() => Tensor.AddInPlace([a], [Tensor.Ones(3)]));
        Assert.That(shapes!.Message, Does.StartWith("_foreach_add_(f32[2], f32[3], alpha=1) failed:"));
    }

    [Test]
    public void AliasSharesMemoryButNotTheHandle()
    {
        var t = Tensor.FromArray(new float[] { 1, 2 });
        var alias = t.Alias();
        Assert.That(alias.IsSameAs(t), Is.True);
        t.ZeroInPlace();
        Assert.That(alias.ToArray<float>(), Is.EqualTo(new float[] { 0, 0 }));
        alias.Dispose();
        Assert.That(t.IsDisposed, Is.False);
    }

    // ---- in place -----------------------------------------------------------------------------------------------

    [Test]
    public void InPlaceUpdates()
    {
        var t = Tensor.FromArray(new float[] { 1, 2 });
        Assert.That(t.AddInPlace(Tensor.FromArray(new float[] { 10, 20 }), alpha: 2), Is.SameAs(t));
        Assert.That(t.ToArray<float>(), Is.EqualTo(new float[] { 21, 42 }));
        Assert.That(t.AddInPlace(Tensor.Scalar(1f)).ToArray<float>(), Is.EqualTo(new float[] { 22, 43 }), "broadcasts the argument");
        Assert.That(t.MulInPlace(0.5).ToArray<float>(), Is.EqualTo(new float[] { 11, 21.5f }));
        Assert.That(t.MulInPlace(Tensor.FromArray(new float[] { 2, -2 })).ToArray<float>(), Is.EqualTo(new float[] { 22, -43 }));
        Assert.That(t.CopyInPlace(Tensor.FromArray(new float[] { 5, 6 })).ToArray<float>(), Is.EqualTo(new float[] { 5, 6 }));
        Assert.That(t.CopyInPlace(Tensor.Scalar(7L)).ToArray<float>(), Is.EqualTo(new float[] { 7, 7 }), "broadcasts and converts");
        Assert.That(t.ZeroInPlace().ToArray<float>(), Is.EqualTo(new float[] { 0, 0 }));
    }

    [Test]
    public void AddcmulAndAddcdivInPlace()
    {
        var a = Tensor.FromArray(new float[] { 2, 3 });
        var b = Tensor.FromArray(new float[] { 4, 6 });
        var t = Tensor.FromArray(new float[] { 1, 1 });
        Assert.That(t.AddcmulInPlace(a, b, 0.5), Is.SameAs(t));
        Assert.That(t.ToArray<float>(), Is.EqualTo(new float[] { 1 + 0.5f * 8, 1 + 0.5f * 18 }));
        Assert.That(t.AddcmulInPlace(a, b).ToArray<float>(), Is.EqualTo(new float[] { 13, 28 }));
        var u = Tensor.FromArray(new float[] { 1, 1 });
        Assert.That(u.AddcdivInPlace(a, b, 2).ToArray<float>(), Is.EqualTo(new float[] { 1 + 2 * 0.5f, 1 + 2 * 0.5f }));
        Assert.That(u.AddcdivInPlace(b, a).ToArray<float>(), Is.EqualTo(new float[] { 4, 4 }));
    }

    // ---- BFloat16 ---------------------------------------------------------------------------------------------

    [Test]
    public void BFloat16RoundsToNearestEven()
    {
        Assert.That(((BFloat16)1f).Bits, Is.EqualTo((ushort)0x3F80));
        Assert.That(((BFloat16)(-2f)).Bits, Is.EqualTo((ushort)0xC000));
        float one = 1f, ulp = MathF.Pow(2, -7);   // spacing of bf16 just above 1
        Assert.That((float)(BFloat16)(one + ulp / 2), Is.EqualTo(one), "a tie goes to the even neighbour below");
        Assert.That((float)(BFloat16)(one + 3 * ulp / 2), Is.EqualTo(one + 2 * ulp), "a tie goes to the even neighbour above");
        Assert.That((float)(BFloat16)(one + ulp / 2 + MathF.Pow(2, -20)), Is.EqualTo(one + ulp), "above the tie rounds up");
        Assert.That((float)(BFloat16)(one + ulp * 0.49f), Is.EqualTo(one));
        Assert.That(float.IsNaN((BFloat16)float.NaN), Is.True);
        Assert.That(float.IsNaN((BFloat16)BitConverter.UInt32BitsToSingle(0x7F800001)), Is.True, "a NaN with only low payload bits stays NaN");
        Assert.That((float)(BFloat16)float.PositiveInfinity, Is.EqualTo(float.PositiveInfinity));
        Assert.That((float)(BFloat16)float.MaxValue, Is.EqualTo(float.PositiveInfinity), "rounds past the largest bf16");
        Assert.That(((BFloat16)1.5f).ToString(), Is.EqualTo("1.5"));
    }

    [Test]
    public void BFloat16RoundingMatchesLibTorch()
    {
        var values = new List<float> { 0f, -0f, 1f, 1.00390625f, 1.01171875f, 1.7f, -1.7f, 3.14159265f, 1e-40f, 6.5e4f, 3.0e38f, float.MaxValue, float.Epsilon };
        var random = new Random(5);
        for (int i = 0; i < 1000; i++) values.Add(BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 0x7F800000)));
        var expected = values.Select(v => (BFloat16)v).ToArray();
        Assert.That(Tensor.FromArray(values.ToArray()).To(DType.BFloat16).ToArray<BFloat16>(), Is.EqualTo(expected));
        Assert.That(Tensor.FromArray(expected).To(DType.Float32).ToArray<float>(), Is.EqualTo(expected.Select(b => (float)b)), "widening is exact");
    }

    // ---- Device and DType -------------------------------------------------------------------------------------

    [Test]
    public void DeviceToStringIsPyTorchs()
    {
        Assert.That(Device.Cpu.ToString(), Is.EqualTo("cpu"));
        Assert.That(Device.Cuda().ToString(), Is.EqualTo("cuda:0"));
        Assert.That(Device.Cuda(1).ToString(), Is.EqualTo("cuda:1"));
        Assert.That(Device.Cpu, Is.EqualTo(new Device(DeviceType.Cpu, 0)));
        Assert.That(Device.Cuda(1), Is.Not.EqualTo(Device.Cuda(0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Device.Cuda(-1));
    }

    [TestCase(DType.UInt8, "u8", 1, false)]
    [TestCase(DType.Int8, "i8", 1, false)]
    [TestCase(DType.Int16, "i16", 2, false)]
    [TestCase(DType.Int32, "i32", 4, false)]
    [TestCase(DType.Int64, "i64", 8, false)]
    [TestCase(DType.Float16, "f16", 2, true)]
    [TestCase(DType.BFloat16, "bf16", 2, true)]
    [TestCase(DType.Float32, "f32", 4, true)]
    [TestCase(DType.Float64, "f64", 8, true)]
    [TestCase(DType.Complex64, "c64", 8, true)]
    [TestCase(DType.Complex128, "c128", 16, true)]
    [TestCase(DType.Bool, "bool", 1, false)]
    public void DTypeFacts(DType dtype, string shortName, int elementSize, bool inexact)
    {
        Assert.That(dtype.ShortName(), Is.EqualTo(shortName));
        Assert.That(dtype.ElementSize(), Is.EqualTo(elementSize));
        Assert.That(dtype.IsInexact(), Is.EqualTo(inexact));
        Assert.That(dtype.IsFloatingPoint(), Is.EqualTo(inexact && !dtype.IsComplex()));
        var t = Tensor.Empty([3], dtype);
        Assert.That(t.DType, Is.EqualTo(dtype), "LibTorch agrees on the code");
        Assert.That(t.Bytes, Is.EqualTo(3 * elementSize), "LibTorch agrees on the size");
    }

    [Test]
    public void DTypeOfManagedTypes()
    {
        Assert.That(DTypeExtensions.Of<float>(), Is.EqualTo(DType.Float32));
        Assert.That(DTypeExtensions.Of<double>(), Is.EqualTo(DType.Float64));
        Assert.That(DTypeExtensions.Of<Half>(), Is.EqualTo(DType.Float16));
        Assert.That(DTypeExtensions.Of<BFloat16>(), Is.EqualTo(DType.BFloat16));
        Assert.That(DTypeExtensions.Of<sbyte>(), Is.EqualTo(DType.Int8));
        Assert.That(DTypeExtensions.Of<short>(), Is.EqualTo(DType.Int16));
        Assert.That(DTypeExtensions.Of<int>(), Is.EqualTo(DType.Int32));
        Assert.That(DTypeExtensions.Of<long>(), Is.EqualTo(DType.Int64));
        Assert.That(DTypeExtensions.Of<byte>(), Is.EqualTo(DType.UInt8));
        Assert.That(DTypeExtensions.Of<bool>(), Is.EqualTo(DType.Bool));
        Assert.That(DTypeExtensions.Of<System.Numerics.Complex>(), Is.EqualTo(DType.Complex128));
        Assert.That(Assert.Throws<NotSupportedException>(() => DTypeExtensions.Of<ulong>())!.Message, Does.Contain("UInt64"));
        Assert.That(((DType)99).ShortName(), Is.EqualTo("dtype99"));
        Assert.Throws<NotSupportedException>(() => ((DType)99).ElementSize());
    }

    [Test]
    public void ComplexRoundTrip()
    {
        var values = new[] { new System.Numerics.Complex(1, -2), new System.Numerics.Complex(0.5, 3) };
        var t = Tensor.FromArray(values);
        Assert.That(t.DType, Is.EqualTo(DType.Complex128));
        Assert.That(t.ToArray<System.Numerics.Complex>(), Is.EqualTo(values));
    }

    [Test]
    public void TorchReportsItsVersionAndThreads()
    {
        Assert.That(Torch.Version, Does.Match(@"^\d+\.\d+"));
        Assert.That(Torch.NumThreads, Is.GreaterThan(0));
        Assert.That(Torch.CudaDeviceCount, Is.GreaterThanOrEqualTo(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Torch.NumThreads = 0);
    }
}
