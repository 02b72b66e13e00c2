using Microsoft.Extensions.Configuration;
using Switchboard.Platform;

namespace Switchboard.Tests.Platform;

/// <summary>Without a configured public URL, the links the host writes point where it listens (not always :8080).</summary>
public sealed class PublicUrlOptionsTests
{
    [Theory]
    [InlineData(null, "http://127.0.0.1:18081", "http://localhost:18081")]
    [InlineData(null, "http://0.0.0.0:9000;https://0.0.0.0:9443", "http://localhost:9000")]
    [InlineData(null, "http://+:7000", "http://localhost:7000")]
    [InlineData(null, "http://*:7001", "http://localhost:7001")]
    [InlineData(null, "http://switchboard.lan:8081", "http://switchboard.lan:8081")]
    [InlineData(null, "http://127.0.0.1:0", PublicUrlOptions.DefaultUrl)] // a port chosen at start is not known yet
    [InlineData(null, null, PublicUrlOptions.DefaultUrl)]
    [InlineData("https://switchboard.example.com", "http://127.0.0.1:18081", "https://switchboard.example.com")] // configured: kept
    public void TheListeningUrlIsTheDefault(string? configured, string? urls, string expected)
    {
        var settings = new Dictionary<string, string?>();
        if (configured is not null)
        {
            settings["Switchboard:PublicBaseUrl"] = configured;
        }
        if (urls is not null)
        {
            settings["urls"] = urls;
        }
        var config = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = new PublicUrlOptions();
        config.GetSection(PublicUrlOptions.Section).Bind(options);

        options.DefaultToListeningUrl(config);

        Assert.Equal(expected, options.PublicBaseUrl);
    }
}
