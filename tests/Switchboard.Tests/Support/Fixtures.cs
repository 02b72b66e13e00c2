namespace Switchboard.Tests.Support;

/// <summary>Locates the shared, read-only fixtures at <c>../shared/fixtures</c> beside the repository root.</summary>
internal static class Fixtures
{
    private static readonly Lazy<DirectoryInfo> Repository = new(FindRepository);
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>The repository root (the folder holding <c>Switchboard.slnx</c>).</summary>
    public static string RepositoryRoot => Repository.Value.FullName;

    /// <summary>Absolute path of a fixture, e.g. <c>Fixtures.PathOf("vapi/tool-calls.json")</c>.</summary>
    public static string PathOf(string relative)
    {
        var path = System.IO.Path.Combine(Root.Value, "fixtures", relative);
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new FileNotFoundException($"Fixture '{relative}' is missing at {path}. The shared fixtures must sit at ../shared/fixtures beside the repository.");
        }
        return path;
    }

    public static string ReadText(string relative) => File.ReadAllText(PathOf(relative));

    private static DirectoryInfo FindRepository()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Switchboard.slnx")))
        {
            dir = dir.Parent;
        }
        return dir ?? throw new InvalidOperationException("Cannot find the repository root (Switchboard.slnx) above " + AppContext.BaseDirectory);
    }

    private static string FindRoot()
    {
        var dir = Repository.Value;
        var shared = System.IO.Path.Combine(dir.Parent!.FullName, "shared");
        if (!Directory.Exists(System.IO.Path.Combine(shared, "fixtures")))
        {
            throw new DirectoryNotFoundException($"Shared fixtures not found at {shared}/fixtures: clone the project with shared/ beside it.");
        }
        return shared;
    }
}
