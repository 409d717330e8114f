namespace UNet.Segmentation.Data.Msd;

/// <summary>
/// The reference's cross-validation over MSD cases: scikit-learn's
/// <c>KFold(n_splits=5, shuffle=True, random_state=12345)</c> over the preprocessed cases sorted
/// by name. KFold shuffles <c>arange(n)</c> with NumPy's legacy <c>RandomState(12345)</c> and cuts
/// it into contiguous folds (the first n mod k one case larger), which is
/// <see cref="CrossValidation.Split"/>'s <see cref="FoldScheme.Disjoint"/> scheme with that seed;
/// KFold returns each fold's indices ascending, and so does this.
/// </summary>
public static class MsdFolds
{
    /// <summary>The reference's <c>random_state</c>: 12345.</summary>
    public const int ReferenceSeed = 12345;

    /// <summary>The cases fold <paramref name="fold"/> of <paramref name="folds"/> trains and validates on, as indices into the cases sorted by id (<see cref="MsdTask.TrainingById"/>, <see cref="MsdPreparedData.Cases"/>).</summary>
    /// <param name="fold">The fold, in [0, <paramref name="folds"/>).</param>
    /// <param name="cases">How many training cases; at least <paramref name="folds"/>.</param>
    /// <param name="folds">How many folds (the reference: 5).</param>
    /// <param name="seed">The shuffle's seed (the reference: 12345).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument lies outside its range.</exception>
    public static FoldSplit Split(int fold, int cases, int folds = 5, int seed = ReferenceSeed)
    {
        var split = CrossValidation.Split(fold, folds, cases, FoldScheme.Disjoint, seed);
        return new FoldSplit(fold, split.Training.Order().ToArray(), split.Validation.Order().ToArray());
    }
}
