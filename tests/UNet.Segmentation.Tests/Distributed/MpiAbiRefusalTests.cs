using UNet.Segmentation.Distributed;
using UNet.Segmentation.Distributed.Mpi;

namespace UNet.Segmentation.Tests.Distributed;

/// <summary>
/// The MPI binding speaks Open MPI's ABI only: Windows (MS-MPI) and libraries named like MPICH's
/// are refused with one line naming why, before anything is loaded. The platform and the library
/// name are injected, so the Windows refusal is tested here on Linux.
/// </summary>
public sealed class MpiAbiRefusalTests
{
    [Fact]
    public void OnWindows_MsMpiIsRefused_NamingItsAbi()
    {
        var e = MpiLibrary.Refusal(windows: true, library: null);
        Assert.NotNull(e);
        Assert.IsType<CommunicationLibraryException>(e);
        Assert.StartsWith("data-parallel training over MPI is not supported on Windows", e.Message);
        Assert.Contains("MS-MPI", e.Message);
        Assert.Contains("MPICH-ABI", e.Message);
        Assert.Contains("Open MPI", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void OnWindows_EvenANamedLibraryIsRefused()
    {
        var e = MpiLibrary.Refusal(windows: true, library: @"C:\Program Files\Open MPI\libmpi.dll");
        Assert.NotNull(e);
        Assert.Contains("Windows", e.Message);
    }

    [Theory]
    [InlineData("/usr/lib/x86_64-linux-gnu/libmpich.so.12")]
    [InlineData(@"C:\Program Files\Microsoft MPI\Bin\msmpi.dll")]
    [InlineData("/opt/MPICH/lib/libMPICH.so")]
    public void ALibraryNamedLikeMpich_IsRefusedNamingIt(string library)
    {
        var e = MpiLibrary.Refusal(windows: false, library);
        Assert.NotNull(e);
        Assert.StartsWith($"{library} is an MPICH-ABI library", e.Message);
        Assert.Contains(MpiLibrary.PathVariable, e.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("libmpi.so.40")]
    [InlineData("/opt/openmpi/lib/libmpi.so")]
    // Only the file name counts: an Open MPI under a folder called mpich is Open MPI.
    [InlineData("/home/mpich/openmpi/lib/libmpi.so.40")]
    public void OpenMpiOnLinux_IsNotRefused(string? library)
    {
        Assert.Null(MpiLibrary.Refusal(windows: false, library));
    }
}
