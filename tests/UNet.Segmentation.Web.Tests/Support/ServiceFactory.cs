using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using UNet.Segmentation.Web.Hosting;

namespace UNet.Segmentation.Web.Tests.Support;

/// <summary>
/// The service in process (Program as it is), with the tests' configuration added last (it wins
/// over appsettings.json), and optionally another <see cref="PredictorHost"/> in place of the
/// configured model (a gated one for the queue and timeout tests).
/// </summary>
public class ServiceFactory(Dictionary<string, string?> settings, Func<PredictorHost>? host = null) : WebApplicationFactory<Program>
{
    public ServiceFactory(params (string Key, string? Value)[] overrides) : this(TestModels.Settings(overrides))
    {
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(settings));
        if (host is not null) builder.ConfigureTestServices(services => services.AddSingleton(_ => host()));
    }

    /// <summary>Starts the service on Kestrel on a free loopback port and gives its address (http://127.0.0.1:N/).</summary>
    public Uri StartOnKestrel()
    {
        UseKestrel(0);
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.First().Replace("[::]", "127.0.0.1").Replace("localhost", "127.0.0.1"));
    }
}
