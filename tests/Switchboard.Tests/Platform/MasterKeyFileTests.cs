using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Platform.Cluster;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The master key file generated on a first start (<c>data/master.key</c>): nodes (or the server and a tool) starting at
/// the same moment on one data folder must all end up with the one key in the file, and none may read it half written.
/// </summary>
public sealed class MasterKeyFileTests
{
    [Fact]
    public async Task NodesCreatingTheMasterKeyFileTogetherAllUseTheWholeKeyInIt()
    {
        const int nodes = 8;
        for (var round = 0; round < 400; round++)
        {
            var folder = Path.Combine(Path.GetTempPath(), "switchboard-master-key-" + Guid.NewGuid().ToString("N"));
            try
            {
                var path = Path.Combine(folder, "master.key");
                var configuration = new ConfigurationBuilder()
                    .AddInMemoryCollection(new Dictionary<string, string?> { [$"{SharedKeyRing.Section}:MasterKeyFile"] = path })
                    .Build();
                var environment = new HostingEnvironment { ContentRootPath = folder, EnvironmentName = "Testing" };
                using var start = new Barrier(nodes);
                var loads = Enumerable.Range(0, nodes).Select(_ => Task.Factory.StartNew(() =>
                {
                    start.SignalAndWait(TimeSpan.FromSeconds(30));
                    return MasterKeys.Load(configuration, environment, NullLogger.Instance);
                }, TaskCreationOptions.LongRunning)).ToArray();

                var keys = await Task.WhenAll(loads);

                var inFile = MasterKeys.IdOf(Convert.FromBase64String(File.ReadAllText(path)));
                Assert.All(keys, k => Assert.Equal(inFile, k.CurrentId));
                Assert.Equal(["master.key"], Directory.GetFiles(folder).Select(Path.GetFileName)); // no temporary file left behind
                if (!OperatingSystem.IsWindows())
                {
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
                }
            }
            finally
            {
                try { Directory.Delete(folder, true); } catch (IOException) { }
            }
        }
    }
}
