// MSBuild task (compiled by RoslynCodeTaskFactory from UNet.Segmentation.targets, not part of
// the library): marks libLibTorchSharp.so's need for one libstdc++ symbol version weak
// (VER_FLG_WEAK in .gnu.version_r) so the dynamic loader accepts an older libstdc++.
// TorchSharp 0.107 is built with a toolchain whose libstdc++ tags std::ios_base_library_init()
// GLIBCXX_3.4.32; Debian 12 and Ubuntu 22.04 stop at 3.4.30, and nothing calls that function.
// The patched copy replaces the file in the build or publish output only (never the NuGet
// cache), written beside it and renamed over it, with the original's timestamp so incremental
// copies leave it alone.
// The tests compile this file too, with UNET_ELF_TESTS defined, to test ElfVersionNeeds alone.
using System;
using System.IO;
using System.Text;
#if !UNET_ELF_TESTS
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakGlibcxxNeed : Task
{

    /// <summary>Folders whose libLibTorchSharp.so (top level or runtimes/linux-x64/native) is patched.</summary>
    [Required] public string[] Directories { get; set; } = Array.Empty<string>();

    /// <summary>The symbol version to make optional.</summary>
    public string Version { get; set; } = "GLIBCXX_3.4.32";

    public override bool Execute()
    {
        foreach (var dir in Directories)
        {
            foreach (var candidate in new[] { Path.Combine(dir, "libLibTorchSharp.so"), Path.Combine(dir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so") })
            {
                if (!File.Exists(candidate)) continue;
                try
                {
                    var bytes = File.ReadAllBytes(candidate);
                    string outcome = ElfVersionNeeds.MarkWeak(bytes, Version);
                    if (outcome == "patched")
                    {
                        var stamp = File.GetLastWriteTimeUtc(candidate);
                        var temp = candidate + ".weak-" + Guid.NewGuid().ToString("N");
                        File.WriteAllBytes(temp, bytes);
                        File.SetLastWriteTimeUtc(temp, stamp);
                        File.Replace(temp, candidate, null); // a rename: readers see the old file or the new one
                    }
                    Log.LogMessage(MessageImportance.Normal, $"UNet.Segmentation: {candidate}: {Version} need {outcome}");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
                {
                    Log.LogWarning($"UNet.Segmentation: could not mark {Version} weak in {candidate} ({e.Message}); TorchSharp may fail to load on this libstdc++ (docs/torchsharp-on-older-linux.md)");
                }
            }
        }
        return !Log.HasLoggedErrors;
    }
}
#endif

/// <summary>Reads and edits the version needs (.gnu.version_r) of a 64-bit little-endian ELF file in memory.</summary>
public static class ElfVersionNeeds
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>Sets VER_FLG_WEAK on the Vernaux entry named <paramref name="version"/>; "patched", "already weak" or "absent".</summary>
    public static string MarkWeak(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("not a 64-bit little-endian ELF file");
        ulong shoff = U64(elf, 0x28);
        int shentsize = U16(elf, 0x3a), shnum = U16(elf, 0x3c);
        if (shoff == 0 || shentsize < 64 || shoff + (ulong)(shentsize * shnum) > (ulong)elf.Length)
            throw new InvalidDataException("section headers out of bounds");
        for (int s = 0; s < shnum; s++)
        {
            int sh = checked((int)shoff + s * shentsize);
            if (U32(elf, sh + 4) != ShtGnuVerneed) continue;
            int offset = checked((int)U64(elf, sh + 0x18));
            int size = checked((int)U64(elf, sh + 0x20));
            int link = (int)U32(elf, sh + 0x28);
            int strSh = checked((int)shoff + link * shentsize);
            int strOff = checked((int)U64(elf, strSh + 0x18));
            int strSize = checked((int)U64(elf, strSh + 0x20));
            int need = offset;
            for (int guard = 0; guard < 4096 && need + 16 <= offset + size; guard++)
            {
                int cnt = U16(elf, need + 2);
                int aux = need + (int)U32(elf, need + 8);
                for (int a = 0; a < cnt && aux + 16 <= elf.Length; a++)
                {
                    int name = (int)U32(elf, aux + 8);
                    if (name < strSize && CString(elf, strOff + name) == version)
                    {
                        ushort flags = U16(elf, aux + 4);
                        if ((flags & VerFlgWeak) != 0) return "already weak";
                        flags |= VerFlgWeak;
                        elf[aux + 4] = (byte)flags;
                        elf[aux + 5] = (byte)(flags >> 8);
                        return "patched";
                    }
                    uint nextAux = U32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += (int)nextAux;
                }
                uint next = U32(elf, need + 12);
                if (next == 0) break;
                need += (int)next;
            }
        }
        return "absent";
    }

    private static ushort U16(byte[] b, int o) => (ushort)(b[o] | b[o + 1] << 8);
    private static uint U32(byte[] b, int o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
    private static ulong U64(byte[] b, int o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;

    private static string CString(byte[] b, int o)
    {
        int end = o;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, o, end - o);
    }
}
