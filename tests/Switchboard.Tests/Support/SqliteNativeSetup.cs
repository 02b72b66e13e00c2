using System.Runtime.CompilerServices;
using Switchboard.Platform.Database;

namespace Switchboard.Tests.Support;

/// <summary>
/// Puts the native SQLite library in the mode the server runs it in (<see cref="SqliteNative"/>) before any test opens a
/// connection: the test hosts run Program's start, but only after other tests may have initialized SQLite already.
/// </summary>
internal static class SqliteNativeSetup
{
    /// <summary>The result codes of <see cref="SqliteNative.Configure"/> at the test assembly's load.</summary>
    internal static (int ThreadMode, int MemStatus) Applied { get; private set; }

#pragma warning disable CA2255 // a module initializer is the one place that runs before every test
    [ModuleInitializer]
    internal static void Configure() => Applied = SqliteNative.Configure();
#pragma warning restore CA2255
}
