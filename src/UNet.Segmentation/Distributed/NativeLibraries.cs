using System.Runtime.InteropServices;

namespace UNet.Segmentation.Distributed;

/// <summary>
/// How the communication libraries (libmpi, libnccl, libcudart) are found: the path an
/// environment variable names, else the first of a list of file names the loader finds; one
/// binding per distinct value of the variable, made once. A failure is the caller's
/// <see cref="CommunicationLibraryException"/> and is not remembered.
/// </summary>
internal static class NativeLibraries
{
    private static readonly Dictionary<(Type, string), object> Loaded = [];

    /// <summary>The binding of the library <paramref name="pathVariable"/> names, or of the first of <paramref name="candidates"/> that loads.</summary>
    public static T Load<T>(string pathVariable, IReadOnlyList<string> candidates, Func<IReadOnlyList<string>, T> open) where T : class
    {
        string? named = Environment.GetEnvironmentVariable(pathVariable);
        string key = string.IsNullOrWhiteSpace(named) ? "" : named;
        lock (Loaded)
        {
            if (Loaded.TryGetValue((typeof(T), key), out var bound)) return (T)bound;
            var made = open(key.Length == 0 ? candidates : [key]);
            Loaded[(typeof(T), key)] = made;
            return made;
        }
    }

    /// <summary>
    /// Binds the first of <paramref name="candidates"/> that <paramref name="load"/> (default
    /// <see cref="NativeLibrary.TryLoad(string, out nint)"/>) loads; otherwise throws
    /// <see cref="CommunicationLibraryException"/> with <paramref name="missing"/>'s message for the names tried.
    /// </summary>
    public static T Open<T>(IReadOnlyList<string> candidates, Func<nint, string, T> bind, Func<string, string> missing, Func<string, nint>? load = null)
    {
        foreach (string candidate in candidates)
        {
            nint handle = load?.Invoke(candidate) ?? 0;
            if (handle != 0 || NativeLibrary.TryLoad(candidate, out handle)) return bind(handle, candidate);
        }
        throw new CommunicationLibraryException(missing(string.Join(" or ", candidates)));
    }
}
