using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace UNet.Segmentation.Benchmarks.Workloads;

/// <summary>A summary column: images/s = BatchSize / mean time per operation (one operation = one batch).</summary>
public sealed class ImagesPerSecondColumn : IColumn
{
    public string Id => nameof(ImagesPerSecondColumn);
    public string ColumnName => "images/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Images per second: BatchSize / Mean";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null || benchmarkCase.Parameters["BatchSize"] is not int batch) return "-";
        return (batch / (stats.Mean / 1e9)).ToString("G4", CultureInfo.InvariantCulture);
    }
}

/// <summary>The default configuration plus the images/s column.</summary>
public sealed class ImagesPerSecondConfig : ManualConfig
{
    public ImagesPerSecondConfig() => AddColumn(new ImagesPerSecondColumn());
}
