namespace UNet.Segmentation.Data;

/// <summary>How <see cref="CrossValidation.Split"/> divides the slices into folds.</summary>
public enum FoldScheme
{
    /// <summary>
    /// NVIDIA UNet_Medical's split, reproduced exactly: shuffle with numpy's legacy
    /// <c>np.random.seed(seed); np.random.shuffle(np.arange(slices))</c>, rotate the list right
    /// by <c>fold · int((1 − ratio) · slices)</c>, train on the first <c>int(ratio · slices)</c>
    /// and validate on the rest. Its validation sets overlap and some slices are never
    /// validated; see <see cref="CrossValidation.Split"/>.
    /// </summary>
    Reference,

    /// <summary>
    /// Proper k-fold cross-validation: the same numpy shuffle, cut into <c>folds</c> disjoint
    /// contiguous chunks (sizes differ by at most one, the larger first, as numpy's
    /// <c>array_split</c>); fold k validates chunk k and trains on all the others.
    /// </summary>
    Disjoint,
}

/// <summary>
/// The slices one fold trains and validates on; or, with <see cref="Fold"/> null
/// (<see cref="All"/>, <see cref="SegmentationData.AllItems"/>), no fold: every item trains and
/// none validates, the reference's <c>--fold None</c> (how it makes its final model).
/// </summary>
/// <param name="Fold">The fold index, in [0, folds); null: no fold, all items train (<see cref="All"/>).</param>
/// <param name="Training">Slice indices to train on, in the order of the shuffled list.</param>
/// <param name="Validation">Slice indices to validate on, in the order of the shuffled list (empty without a fold).</param>
public sealed record FoldSplit(int? Fold, IReadOnlyList<int> Training, IReadOnlyList<int> Validation)
{
    /// <summary>
    /// No fold: items 0 … <paramref name="items"/> − 1, in order, all train, none validates. A fit on
    /// it evaluates nothing, so the options that need validation items (an evaluation schedule,
    /// challenge scores, <c>KeepBest</c>, <c>EarlyStopping</c>) are refused by <c>Trainer.Fit</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="items"/> is below 1.</exception>
    public static FoldSplit All(int items)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 1);
        return new FoldSplit(null, Enumerable.Range(0, items).ToArray(), []);
    }

    /// <summary>True for the no-fold split (<see cref="Fold"/> null): every item trains.</summary>
    public bool IsAll => Fold is null;

    /// <summary>The fold as checkpoints, metrics files and the CLI write it: its index ("0") or "none".</summary>
    public string Name => Fold?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? NoneName;

    /// <summary>The <see cref="Name"/> of the no-fold split, as the CLI's <c>--fold none</c> spells it.</summary>
    public const string NoneName = "none";
}

/// <summary>
/// Cross-validation folds over the slices of a volume, as NVIDIA UNet_Medical makes them
/// (<see cref="FoldScheme.Reference"/>) or as disjoint k-fold chunks (<see cref="FoldScheme.Disjoint"/>).
/// </summary>
/// <remarks>
/// <para>
/// Both schemes start from numpy's legacy shuffle: <c>RandomState(seed)</c> seeds MT19937 with
/// <c>init_genrand(seed)</c> (for an integer seed numpy's legacy seeding calls
/// <c>mt19937_seed</c>, not <c>init_by_array</c>: its state starts 0, 1, 1812433255 for seed 0),
/// and <c>shuffle</c> is Fisher–Yates from the end, <c>for i in n−1 … 1: j = random_interval(i)</c>,
/// where <c>random_interval(max)</c> draws 32-bit outputs masked with the smallest all-ones mask
/// ≥ max and rejects values above max. With seed 0 and 30 slices this gives
/// [2,28,13,10,26,24,27,11,17,22,5,16,8,14,23,20,1,29,6,4,18,19,9,7,25,3,0,21,15,12].
/// </para>
/// <para>
/// Reference quirks, kept because they decide comparability with the published numbers: the
/// reference hard-codes a train ratio of 0.8 and rotates by <c>int((1 − 0.8) · 30)</c>, which is
/// 5 and not 6 because (1 − 0.8) · 30 = 5.999999999999998 in doubles, while it validates on the
/// last 30 − int(0.8 · 30) = 6 slices. So consecutive folds' validation sets overlap by one slice
/// (25, 4, 23, 22) and slices 2, 10, 13 and 28 are never validated. Here the ratio is
/// <c>(folds − 1) / folds</c> in doubles, which is exactly the double 0.8 for five folds.
/// No fold of either scheme trains on all slices: the reference's "no fold" mode is <see cref="FoldSplit.All"/>.
/// </para>
/// </remarks>
public static class CrossValidation
{
    /// <summary>The slices fold <paramref name="fold"/> of <paramref name="folds"/> trains and validates on.</summary>
    /// <param name="fold">The fold, in [0, <paramref name="folds"/>).</param>
    /// <param name="folds">How many folds; at least 2 (the reference: 5).</param>
    /// <param name="slices">How many slices the volume has; at least <paramref name="folds"/> (ISBI 2012: 30).</param>
    /// <param name="scheme">The reference's overlapping split or disjoint k-fold chunks.</param>
    /// <param name="seed">numpy's seed, in [0, 2³¹) (the reference: 0).</param>
    /// <returns>The training and validation slice indices; together they cover every slice of
    /// the disjoint scheme, and the validation slices of the reference scheme; neither is empty.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument lies outside its range; the exception names it.</exception>
    public static FoldSplit Split(int fold, int folds = 5, int slices = 30, FoldScheme scheme = FoldScheme.Reference, int seed = 0)
    {
        if (folds < 2) throw new ArgumentOutOfRangeException(nameof(folds), folds, "at least 2 folds are needed");
        if (fold < 0 || fold >= folds) throw new ArgumentOutOfRangeException(nameof(fold), fold, $"the fold must lie in [0, {folds})");
        if (slices < folds) throw new ArgumentOutOfRangeException(nameof(slices), slices, $"at least as many slices as folds ({folds}) are needed");
        if (seed < 0) throw new ArgumentOutOfRangeException(nameof(seed), seed, "numpy seeds are non-negative");
        if (!Enum.IsDefined(scheme)) throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "not a known fold scheme");

        int[] order = NumpyLegacyShuffle(slices, (uint)seed);
        return scheme == FoldScheme.Reference ? ReferenceSplit(order, fold, folds) : DisjointSplit(order, fold, folds);
    }

    private static FoldSplit ReferenceSplit(int[] order, int fold, int folds)
    {
        int n = order.Length;
        double ratio = (folds - 1) / (double)folds; // 0.8 exactly (as a double) for 5 folds
        int step = (int)((1.0 - ratio) * n);        // int((1 - 0.8) * 30) == 5 through rounding
        int trainCount = (int)(ratio * n);          // int(0.8 * 30) == 24
        // collections.deque(order).rotate(fold * step): element i moves to (i + shift) mod n.
        int shift = (int)((long)fold * step % n);
        var rotated = new int[n];
        for (int i = 0; i < n; i++) rotated[(i + shift) % n] = order[i];
        return new FoldSplit(fold, rotated[..trainCount], rotated[trainCount..]);
    }

    private static FoldSplit DisjointSplit(int[] order, int fold, int folds)
    {
        int n = order.Length;
        int baseSize = n / folds, larger = n % folds;
        int start = fold * baseSize + Math.Min(fold, larger);
        int size = baseSize + (fold < larger ? 1 : 0);
        var training = new int[n - size];
        order.AsSpan(0, start).CopyTo(training);
        order.AsSpan(start + size).CopyTo(training.AsSpan(start));
        return new FoldSplit(fold, training, order[start..(start + size)]);
    }

    /// <summary><c>np.random.seed(seed); a = np.arange(n); np.random.shuffle(a)</c>, bit for bit.</summary>
    private static int[] NumpyLegacyShuffle(int n, uint seed)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        var mt = new LegacyMt19937(seed);
        for (int i = n - 1; i >= 1; i--)
        {
            int j = (int)mt.RandomInterval((uint)i);
            (a[i], a[j]) = (a[j], a[i]);
        }
        return a;
    }

    /// <summary>MT19937 as numpy's legacy <c>RandomState</c> seeds and draws it.</summary>
    private sealed class LegacyMt19937
    {
        private const int N = 624, M = 397;
        private const uint MatrixA = 0x9908b0dfu, UpperMask = 0x80000000u, LowerMask = 0x7fffffffu;
        private readonly uint[] _state = new uint[N];
        private int _position;

        /// <summary>numpy's <c>mt19937_seed</c> (Matsumoto and Nishimura's <c>init_genrand</c>).</summary>
        public LegacyMt19937(uint seed)
        {
            _state[0] = seed;
            for (int i = 1; i < N; i++)
                _state[i] = unchecked(1812433253u * (_state[i - 1] ^ (_state[i - 1] >> 30)) + (uint)i);
            _position = N;
        }

        /// <summary>numpy's <c>random_interval</c> for max ≤ 0xffffffff: masked rejection sampling of [0, max].</summary>
        public uint RandomInterval(uint max)
        {
            if (max == 0) return 0;
            uint mask = max;
            mask |= mask >> 1;
            mask |= mask >> 2;
            mask |= mask >> 4;
            mask |= mask >> 8;
            mask |= mask >> 16;
            uint value;
            while ((value = NextUInt32() & mask) > max) { }
            return value;
        }

        /// <summary><c>genrand_int32</c>: the next tempered 32-bit output.</summary>
        public uint NextUInt32()
        {
            if (_position >= N) Generate();
            uint y = _state[_position++];
            y ^= y >> 11;
            y ^= (y << 7) & 0x9d2c5680u;
            y ^= (y << 15) & 0xefc60000u;
            y ^= y >> 18;
            return y;
        }

        private void Generate()
        {
            for (int k = 0; k < N; k++)
            {
                uint y = (_state[k] & UpperMask) | (_state[(k + 1) % N] & LowerMask);
                _state[k] = _state[(k + M) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? MatrixA : 0u);
            }
            _position = 0;
        }
    }
}
