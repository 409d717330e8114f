namespace UNet.Segmentation.Inference.Streaming;

/// <summary>One 8-bit greyscale page of a volume, as a <see cref="VolumeSource"/> decoded it.</summary>
/// <param name="Index">Zero-based page index in the volume.</param>
/// <param name="FilePath">The file the page came from (the stack, or the page's own file in a folder).</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
/// <param name="Pixels">Height × width samples, row-major.</param>
public sealed record VolumePage(int Index, string FilePath, int Height, int Width, byte[] Pixels);

/// <summary>The shape of a volume, told to a <see cref="VolumeSink"/> before any page.</summary>
/// <param name="InputPath">The stack file or folder read.</param>
/// <param name="PageCount">Pages in the volume.</param>
/// <param name="Height">Rows of every page.</param>
/// <param name="Width">Columns of every page.</param>
/// <param name="PageNames">A name per page for per-page outputs: the file's name without extension for a folder, <c>page-00001</c>… for a stack.</param>
public sealed record VolumeLayout(string InputPath, int PageCount, int Height, int Width, IReadOnlyList<string> PageNames);
