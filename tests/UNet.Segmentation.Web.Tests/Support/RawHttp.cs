using System.Net.Sockets;
using System.Text;

namespace UNet.Segmentation.Web.Tests.Support;

/// <summary>HTTP/1.1 by hand over a socket, for what HttpClient will not do: stop sending a body halfway and wait for the answer.</summary>
internal static class RawHttp
{
    /// <summary>
    /// Sends <paramref name="head"/> (request line and headers, without the blank line) and the first
    /// bytes of a body, sends nothing more, and reads the answer until the server closes the
    /// connection or the answer's Content-Length is in; gives its status and body.
    /// </summary>
    public static async Task<(int Status, string Body)> SendPartAsync(Uri server, string head, byte[] bodyStart, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.TrimEnd() + "\r\n\r\n"), cancellationToken);
        await stream.WriteAsync(bodyStart, cancellationToken);
        await stream.FlushAsync(cancellationToken);

        var received = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            int n = await stream.ReadAsync(buffer, cancellationToken);
            if (n == 0) break;
            received.Write(buffer, 0, n);
            if (Complete(received.ToArray(), out _)) break;
        }
        Complete(received.ToArray(), out var answer);
        return answer;
    }

    private static bool Complete(byte[] data, out (int Status, string Body) answer)
    {
        string text = Encoding.UTF8.GetString(data);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        answer = (0, "");
        if (end < 0) return false;
        var lines = text[..end].Split("\r\n");
        int status = int.Parse(lines[0].Split(' ')[1]);
        string body = text[(end + 4)..];
        answer = (status, body);
        var length = lines.Skip(1).Select(l => l.Split(':', 2)).FirstOrDefault(p => p[0].Equals("Content-Length", StringComparison.OrdinalIgnoreCase));
        return length is not null && Encoding.UTF8.GetByteCount(body) >= int.Parse(length[1].Trim());
    }
}
