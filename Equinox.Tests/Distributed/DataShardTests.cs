using Equinox.Distributed;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Distributed;

public class DataShardTests
{
    [Test]
    public void TheRanksSharesAreDisjointEquallyLongAndCoverTheEpoch()
    {
        var key = Key.Create(7);
        var shares = Enumerable.Range(0, 3).Select(r => new DataShard(10, r, 3, key).Indices(epoch: 0)).ToArray();
        Assert.That(shares.Select(s => s.Length), Is.All.EqualTo(3));
        var all = shares.SelectMany(s => s).ToArray();
        Assert.That(all.Distinct().Count(), Is.EqualTo(9), "disjoint");
        Assert.That(all, Is.All.InRange(0, 9));
        Assert.That(new DataShard(10, 1, 3, key).Indices(0), Is.EqualTo(shares[1]), "the same key gives the same order");
        Assert.That(new DataShard(10, 1, 3, key).Indices(1), Is.Not.EqualTo(shares[1]), "each epoch is shuffled anew");
    }

    [Test]
    public void WithoutDropLastTheFirstIndicesRepeatSoEveryExampleIsSeen()
    {
        var key = Key.Create(1);
        var shares = Enumerable.Range(0, 4).Select(r => new DataShard(10, r, 4, key, dropLast: false).Indices(0)).ToArray();
        Assert.That(shares.Select(s => s.Length), Is.All.EqualTo(3));
        Assert.That(shares.SelectMany(s => s).Distinct().Count(), Is.EqualTo(10));
    }

    [Test]
    public void BatchesDropTheShortLastBatchSoRanksMakeTheSameNumberOfSteps()
    {
        var shard = new DataShard(23, 0, 2, Key.Create(3));
        var batches = shard.Batches(epoch: 2, batchSize: 4).ToArray();
        Assert.That(shard.Count, Is.EqualTo(11));
        Assert.That(batches, Has.Length.EqualTo(2).And.Length.EqualTo(shard.BatchCount(4)));
        Assert.That(batches.SelectMany(b => b), Is.EqualTo(shard.Indices(2).Take(8)));
    }

    [Test]
    public void ABadRankIsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DataShard(10, 2, 2, Key.Create(0)));
        Assert.That(e!.Message, Does.StartWith("rank must be in [0, 2)."));
    }
}
